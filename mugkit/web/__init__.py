"""The server side of mugkit: ``mugkit serve``, its storage and ``mugkit data export``."""
