"""The operator dashboard: a static page at ``/admin`` over the admin JSON API.

No build step and no CDN: the page, its script and its stylesheet are package files served as
they are. The page holds no secret; it asks for the admin key and sends it as a bearer token.
"""
