"""Configuration classes; every setting can come from the environment (see DESIGN.md)."""
from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
_DEFAULT_SECRET = "dev-only-not-secret"


def env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable ('1', 'true', 'yes', 'on' are true)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", _DEFAULT_SECRET)
    INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or _sqlite_url(INSTANCE_DIR / "tsunagu.db")
    #: pool_pre_ping: a connection the database dropped (restart, failover) is replaced, not used.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    TIMEZONE = os.environ.get("TIMEZONE", "Asia/Tokyo")
    BABEL_DEFAULT_LOCALE = "ja"
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    LANGUAGES = ["ja", "en"]
    REDIS_URL = os.environ.get("REDIS_URL")
    SEARCH_INDEX_DIR = os.environ.get("SEARCH_INDEX_DIR") or str(INSTANCE_DIR / "search-index")
    #: "whoosh" (an index directory on local disk, the default) or "postgres" (tsvector tables in
    #: the PostgreSQL database, written in the message's transaction; see app/search/pg/).
    SEARCH_BACKEND = os.environ.get("SEARCH_BACKEND", "whoosh").strip().lower() or "whoosh"
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_PROTECTION = "strong"
    TICKETS_PER_PAGE = 50
    #: Customer segments by number of (not cancelled/returned) orders: 1 = new.
    SEGMENT_SECOND_MIN_ORDERS = env_int("SEGMENT_SECOND_MIN_ORDERS", 2)
    SEGMENT_LOYAL_MIN_ORDERS = env_int("SEGMENT_LOYAL_MIN_ORDERS", 3)
    #: How many recent orders the customer sidebar lists.
    SIDEBAR_RECENT_ORDERS = env_int("SIDEBAR_RECENT_ORDERS", 5)
    #: Largest accepted message body (characters); bigger input is refused with 422.
    MAX_BODY_CHARS = env_int("MAX_BODY_CHARS", 200_000)
    MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 30 * 1024 * 1024)
    #: A sender who started this many tickets within the window joins their latest open ticket
    #: instead of starting more (looping auto-responders); 0 turns the limit off.
    TICKET_FLOOD_LIMIT = env_int("TICKET_FLOOD_LIMIT", 5)
    TICKET_FLOOD_WINDOW_SECONDS = env_int("TICKET_FLOOD_WINDOW_SECONDS", 600)

    # Email channel
    IMAP_HOST = os.environ.get("IMAP_HOST")
    IMAP_PORT = env_int("IMAP_PORT", 993)
    IMAP_USER = os.environ.get("IMAP_USER")
    IMAP_PASSWORD = os.environ.get("IMAP_PASSWORD")
    IMAP_SSL = env_bool("IMAP_SSL", True)
    IMAP_FOLDER = os.environ.get("IMAP_FOLDER", "INBOX")
    SMTP_HOST = os.environ.get("SMTP_HOST")
    SMTP_PORT = env_int("SMTP_PORT", 587)
    SMTP_USER = os.environ.get("SMTP_USER")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD")
    SMTP_SECURITY = os.environ.get("SMTP_SECURITY", "starttls")
    MAIL_FROM = os.environ.get("MAIL_FROM", "support@tsunagu.example")
    #: Several mailboxes polled independently (JSON list; entries default to the IMAP_* values),
    #: e.g. [{"user": "support@shop.example"}, {"user": "returns@shop.example", "password": ".."}].
    EMAIL_MAILBOXES = os.environ.get("EMAIL_MAILBOXES", "")
    #: Mail dated before this (e.g. 2026-04-01, shop time) is imported as closed history; a
    #: mailbox entry's "history_before" overrides it (app/channels/email/history.py).
    EMAIL_HISTORY_BEFORE = os.environ.get("EMAIL_HISTORY_BEFORE", "")
    IMAP_STARTTLS = env_bool("IMAP_STARTTLS", False)
    IMAP_TIMEOUT = env_int("IMAP_TIMEOUT", 60)
    #: Seconds between polls of a mailbox by the worker (`flask poll email` uses IDLE instead).
    EMAIL_POLL_SECONDS = env_int("EMAIL_POLL_SECONDS", 60)
    #: A poll stops after the batch that crosses this many seconds; the next poll goes on.
    EMAIL_POLL_BUDGET_SECONDS = env_int("EMAIL_POLL_BUDGET_SECONDS", 120)
    EMAIL_IDLE_SECONDS = env_int("EMAIL_IDLE_SECONDS", 600)
    #: Reconnects (with backoff) within one poll before the error is recorded on ChannelState.
    EMAIL_RECONNECTS = env_int("EMAIL_RECONNECTS", 3)
    EMAIL_BATCH_SIZE = env_int("EMAIL_BATCH_SIZE", 100)
    EMAIL_BATCH_BYTES = env_int("EMAIL_BATCH_BYTES", 25 * 1024 * 1024)
    #: Attachments above this are not copied out of the raw message (flagged `oversize`).
    MAX_ATTACHMENT_BYTES = env_int("MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
    #: utf-8 | iso-2022-jp (a message's meta 'mail_charset' overrides it per customer).
    SMTP_CHARSET = os.environ.get("SMTP_CHARSET", "utf-8")
    SMTP_TIMEOUT = env_int("SMTP_TIMEOUT", 60)
    MAIL_FROM_NAME = os.environ.get("MAIL_FROM_NAME", "")
    #: Acknowledge new email tickets with their number (never auto-replies or bounces).
    EMAIL_AUTO_ACK = env_bool("EMAIL_AUTO_ACK", False)
    EMAIL_AUTO_ACK_SUBJECT = os.environ.get("EMAIL_AUTO_ACK_SUBJECT", "お問い合わせを受け付けました")
    EMAIL_AUTO_ACK_TEXT = os.environ.get(
        "EMAIL_AUTO_ACK_TEXT",
        "お問い合わせいただき、ありがとうございます。\n受付番号は [#{ticket_id}] です。\n"
        "担当者より改めてご連絡いたします。今しばらくお待ちください。\n\n"
        "※このメールは自動送信です。ご返信の際は件名の受付番号を残してください。")

    # X channel
    X_BEARER_TOKEN = os.environ.get("X_BEARER_TOKEN")
    X_CONSUMER_KEY = os.environ.get("X_CONSUMER_KEY")
    X_CONSUMER_SECRET = os.environ.get("X_CONSUMER_SECRET")
    X_ACCESS_TOKEN = os.environ.get("X_ACCESS_TOKEN")
    X_ACCESS_TOKEN_SECRET = os.environ.get("X_ACCESS_TOKEN_SECRET")
    X_USER_ID = os.environ.get("X_USER_ID")
    X_KEYWORDS = env_list("X_KEYWORDS")
    X_API_BASE_URL = os.environ.get("X_API_BASE_URL", "https://api.x.com")
    #: Our account's handle (without @), for post URLs and excluding our own posts from search.
    X_HANDLE = os.environ.get("X_HANDLE", "")
    #: Seconds between mention polls while the budget is comfortable; slowed down up to the max.
    X_POLL_SECONDS = env_int("X_POLL_SECONDS", 120)
    X_POLL_MAX_SECONDS = env_int("X_POLL_MAX_SECONDS", 3600)
    #: Brand-keyword searches cost reads too: run them less often than mention polls.
    X_LISTEN_SECONDS = env_int("X_LISTEN_SECONDS", 900)
    #: Posts the plan lets the app read / write per calendar month (match your X plan).
    X_MONTHLY_READ_CAP = env_int("X_MONTHLY_READ_CAP", 15_000)
    X_MONTHLY_WRITE_CAP = env_int("X_MONTHLY_WRITE_CAP", 3_000)
    #: Share of the read cap after which polling slows down to stretch the rest over the month.
    X_BUDGET_SLOWDOWN_AT = float(os.environ.get("X_BUDGET_SLOWDOWN_AT", "0.7"))
    X_PAGE_SIZE = env_int("X_PAGE_SIZE", 100)
    #: Pages followed per poll; more left unread is reported as a possible gap.
    X_MAX_PAGES_PER_POLL = env_int("X_MAX_PAGES_PER_POLL", 10)
    #: How far back the mentions timeline reaches (X documents about 800 posts).
    X_MENTIONS_REACH = env_int("X_MENTIONS_REACH", 800)
    X_SEARCH_MAX_RESULTS = env_int("X_SEARCH_MAX_RESULTS", 50)
    X_HTTP_TIMEOUT = env_int("X_HTTP_TIMEOUT", 20)
    #: LINE Messaging API: channel secret (webhook signatures) and long-lived channel access token.
    LINE_CHANNEL_SECRET = os.environ.get("LINE_CHANNEL_SECRET")
    LINE_CHANNEL_ACCESS_TOKEN = os.environ.get("LINE_CHANNEL_ACCESS_TOKEN")
    #: Messaging API host (reply, push, profile, quota) and the data API host (message content).
    LINE_API_BASE_URL = os.environ.get("LINE_API_BASE_URL", "https://api.line.me")
    LINE_DATA_API_BASE_URL = os.environ.get("LINE_DATA_API_BASE_URL", "https://api-data.line.me")
    LINE_HTTP_TIMEOUT = env_int("LINE_HTTP_TIMEOUT", 10)
    #: Share of the monthly push quota from which supervisors see a warning.
    LINE_QUOTA_WARN_AT = float(os.environ.get("LINE_QUOTA_WARN_AT", "0.8"))
    #: Days the signed public URLs of images sent on LINE stay valid (LINE apps fetch them lazily).
    LINE_MEDIA_URL_DAYS = env_int("LINE_MEDIA_URL_DAYS", 14)
    #: Fetch LINE profile pictures (a small copy is kept on the identity) when an agent first sees one.
    LINE_FETCH_PICTURES = env_bool("LINE_FETCH_PICTURES", True)
    #: Largest LINE profile picture downloaded.
    LINE_PICTURE_MAX_BYTES = env_int("LINE_PICTURE_MAX_BYTES", 2 * 1024 * 1024)
    #: Public-reply guard: order-number (case-insensitive) and coupon-code (case-sensitive code)
    #: patterns, Python regex applied to NFKC text.
    X_PII_ORDER_PATTERN = os.environ.get(
        "X_PII_ORDER_PATTERN", r"(?:\bORD|注文番号|オーダー番号|order\s*(?:no\.?|number|#))[-:：#\s]*\d{4,}")
    X_PII_COUPON_PATTERN = os.environ.get(
        "X_PII_COUPON_PATTERN", r"(?i:クーポン|coupon)\s*(?i:コード|code)?[-:：\s]*[A-Z0-9]{4,}")
    #: Private channel proposed by the guard: 'dm' (when the plan allows DMs) or 'email'.
    X_PRIVATE_CHANNEL = os.environ.get("X_PRIVATE_CHANNEL", "dm")

    # Worker
    WORKER_POLL_SECONDS = env_int("WORKER_POLL_SECONDS", 30)
    OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)
    #: How long a worker's claim on outbox rows holds; a SIGKILLed worker's rows wait this long.
    OUTBOX_CLAIM_SECONDS = env_int("OUTBOX_CLAIM_SECONDS", 300)
    #: How long a mailbox poll lease holds (renewed per batch); a dead poller's mailbox waits this long.
    EMAIL_LEASE_SECONDS = env_int("EMAIL_LEASE_SECONDS", 300)
    #: Run the background worker inside the web process (embedded default).
    EMBEDDED_WORKER = env_bool("EMBEDDED_WORKER", True)
    #: Train the cancellation-intent model in the background at worker start and at a web
    #: process's first request (~3 s of CPU), so the first message does not wait for it.
    INTENT_WARMUP = env_bool("INTENT_WARMUP", True)

    #: One JSON object per log line (production); plain text otherwise.
    LOG_JSON = env_bool("LOG_JSON", False)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")

    CALLS_WEBHOOK_SECRET = os.environ.get("CALLS_WEBHOOK_SECRET")
    COMMERCE_WEBHOOK_SECRET = os.environ.get("COMMERCE_WEBHOOK_SECRET")
    #: Bearer token a monitor sends to see /healthz details (admins signed in see them anyway).
    HEALTH_TOKEN = os.environ.get("HEALTH_TOKEN")
    #: Reverse proxies in front of the app (nginx: 1): client addresses come from X-Forwarded-For.
    PROXY_HOPS = int(os.environ.get("PROXY_HOPS", "0") or 0)


class DevelopmentConfig(Config):
    DEBUG = False


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False
    EMBEDDED_WORKER = False
    INTENT_WARMUP = False  # a test process trains the model once, when a test first needs it
    SERVER_NAME = None
    RATELIMIT_ENABLED = False


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    LOG_JSON = env_bool("LOG_JSON", True)
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def validate(cls) -> None:
        if not os.environ.get("SECRET_KEY") or os.environ["SECRET_KEY"] == _DEFAULT_SECRET:
            raise RuntimeError("ProductionConfig needs a real SECRET_KEY in the environment")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """Pick the configuration class named by TSUNAGU_ENV (default: development)."""
    return CONFIGS[os.environ.get("TSUNAGU_ENV", "development")]
