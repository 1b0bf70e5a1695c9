"""Pure folds of event streams into answers. No store, no clock: callers pass the events and the times."""
