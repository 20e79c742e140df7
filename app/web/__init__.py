"""Server plumbing: the bounded uvicorn server, security headers and limits, request
deadlines, offline ``/docs``, memory handed back when idle, the health check, one BLAS
thread per worker, and the HTML pages. It may import ``app.settings`` and ``app.api``
(the error envelope); nothing in the engine or the capabilities imports it.

This file imports nothing: ``app.web.blas`` must run before NumPy loads.
"""
