"""console's revisions, one file each, oldest first by revision id."""
