"""Housekeeping: the retention policy's clean-ups (provisioning demos, checkpoints, orphans), their jobs,
the daily schedule and the sensor that cleans up after a failed provisioning request."""
