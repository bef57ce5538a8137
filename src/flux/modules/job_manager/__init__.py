"""The job manager: job states, the event log fold, jobtap plugins, update and purge."""
