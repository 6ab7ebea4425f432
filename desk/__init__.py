"""The 12368 hotline desk: a server-rendered web app for the court's phone agents."""
