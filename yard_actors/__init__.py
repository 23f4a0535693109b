"""yard: an actor-model host for algorithmic trading robots."""
