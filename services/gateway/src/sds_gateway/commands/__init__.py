"""What happens on each API command. Each opens one unit of work and never commits itself."""
