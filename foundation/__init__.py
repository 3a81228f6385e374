"""The bottom layer every package may import: settings and the platform's clock, connections,
the source catalogue and the business constants. It imports nothing of the platform's own."""
