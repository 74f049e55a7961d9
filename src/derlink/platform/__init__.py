"""The technical platform every part uses: settings, databases, credentials, web, HTTP, e-mail."""
