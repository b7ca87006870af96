"""Mail in: a raw mail (fetched by IMAP, or posted by an MTA pipe) parsed, its quoted history
stripped, threaded to its ticket or opening one, and kept once per Message-ID; auto-replies,
bulk mail and bounces open nothing."""
