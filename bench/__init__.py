"""kb's benchmark: kb against Hocuspocus, y-websocket-server and pycrdt-websocket (see README)."""
