"""Reports of a session: the versioned JSON report and the terminal table."""
