"""The core layer: every decision about reads, uploads and stored files, owned once.

Views parse a request, call one method of an object built here, and render what it returns.
Each object is built with the collaborators it uses (``registry.core.app.build``), so a
signature names its dependencies and nothing is handed a container of everything.
"""
