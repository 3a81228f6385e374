"""The platform's command line, `platform <command>`: one module per area of commands."""
