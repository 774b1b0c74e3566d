"""Identity: accounts and Corroborate's own OAuth 2.0 / OpenID Connect authorization server.

``passwords`` (argon2id, the password policy), ``accounts`` (sign-up, sign-in, roles, states),
``throttle`` (failed sign-ins per account and per IP, in the database), ``keys`` (the Ed25519
token signing keys and the JWKS), ``tokens`` (the access-token JWT, revocation), ``server`` (the
authlib authorization server and its grants), ``pages`` (the sign-in and consent pages) and
``routes`` (the HTTP endpoints); ``clients`` registers OAuth clients and ``config`` holds what
the server reads from the settings. See docs/decisions/0009-identity.md.
"""
