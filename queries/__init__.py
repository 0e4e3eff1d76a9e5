"""framelogic.queries: query files, the search runner, the command line and reports."""
