"""Everything that touches the world: the event store, the feed, the CLI."""
