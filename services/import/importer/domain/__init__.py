"""The import's rules, without I/O: feed → validated movies → offers and stocks."""
