"""Interoperability tests against the Node.js reference servers (issue 4, section 1)."""
