"""Credentials of 22 kinds, each in a sentence an agent might store: (kind, text, value).
Synthetic values in the providers' formats (none is a live credential)."""

from __future__ import annotations

PEM_BODY = "MIIEowIBAAKCAQEAx7Qm3PzLk9VvXr2Yt8Wq1Ns5Jd4Hf6Gb0Ce"
R = "Qx7Rm2Kp9Vz4Lt8Ws3Nb6Yc1Hd5Jf0Ga2Qe7Rk4Mn8Pz3Tx6Vb9Lw2Ys5Dq1Fh4Gj7Uk0Ei3Oa6Iu9"
"""A random-looking alphabet run to cut tokens of the providers' exact lengths from."""
SAMPLES: list[tuple[str, str, str]] = [
    ("aws-key", "my AWS key id is {}", "AKIAZ7Q3LRTX5MPW2KDN"),
    ("password", "aws_secret_access_key={} in the env", "Zq8Xv2Lm9Rt5Yk1Hs6Jd3Fg0Aa7Pp4Nn2Bb8Cc5D"),
    ("github-token", "use the token {} for the CI", "ghp_" + R[:36]),
    ("gitlab-token", "gitlab access {} expires soon", "glpat-Xk2Rm8Vq4Tz7Lp1Ns9Wd"),
    ("slack-token", "the bot uses {}", "xoxb-263594206564-2343605637652-Qx7Rm2Kp9Vz4Lt8Ws3Nb6Yc1"),
    (
        "slack-token",
        "post to {} on deploy",
        "https://hooks.slack.com/services/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",
    ),
    ("stripe-key", "stripe live key {} for billing", "sk_live_51Hx7Qm2Kp9Vz4Lt8Ws3Nb6Yc"),
    ("openai-key", "old openai key {}", "sk-" + R[:20] + "T3BlbkFJ" + R[20:40]),
    ("openai-key", "the project key is {} now", "sk-proj-Qx7Rm2Kp9Vz4Lt8Ws3Nb6Yc1Hd5Jf0Ga2Qe7Rk4"),
    (
        "anthropic-key",
        "claude key {} on the laptop",
        "sk-ant-api03-Qx7Rm2Kp9Vz4Lt8Ws3Nb6Yc1Hd5Jf0Ga2Qe7Rk4Mn8Pz3",
    ),
    ("google-api-key", "maps key {} for the app", "AIza" + R[:35]),
    (
        "jwt",
        "session {} from the login",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ),
    (
        "private-key",
        "deploy key:\n{}\nkeep it safe",
        f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----",
    ),
    ("password", "wifi password={} for guests", "Tr0ub4dor&3xQ"),
    ("url-password", "database is postgres://app:{}@db.internal:5432/prod", "S3cretPass99x"),
    ("sendgrid-key", "mail via {}", "SG." + R[:22] + "." + R[22:65]),
    ("npm-token", "publish with {}", "npm_Qx7Rm2Kp9Vz4Lt8Ws3Nb6Yc1Hd5Jf0Ga2Qe7"),
    ("pypi-token", "upload token {}", "pypi-AgEIcHlwaS5vcmc" + R[:76]),
    ("twilio-key", "sms api key {}", "SK0123456789abcdef0123456789abcdef"),
    ("telegram-token", "telegram bot {} answers", "123456789:AAHx7Rm2Kp9Vz4Lt8Ws3Nb6Yc1Hd5Jf0Ga2"),
    ("mailchimp-key", "newsletter key {}", "0123456789abcdef0123456789abcdef-us12"),
    ("high-entropy-token", "the session token is {} today", "Zx9Qp2Lm7Vb4Nc8Rt5Yk1Hs6Jd3Fg0Aa"),
]
"""(kind, template, value): ``template.format(value)`` is the text to store."""
