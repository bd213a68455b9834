-- The language the person asked in (their join page's), so the mails to them speak it too.
ALTER TABLE invite_requests ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';
