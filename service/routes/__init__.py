"""The API's routers: check, learning (sent, feedback), operations (health, metrics, admin)."""
