"""Live updates over Socket.IO: handlers in events.py, named emit helpers in broadcast.py."""
