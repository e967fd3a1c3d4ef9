"""Who may use the web app and what each user may see: users, roles, the one scope function."""
