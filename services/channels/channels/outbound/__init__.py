"""Mail out: customer mails and staff notifications, made from events as deliveries and sent over SMTP."""
