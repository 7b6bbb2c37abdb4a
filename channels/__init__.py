"""Retrieval channels (semantic, keyword, graph, temporal) and their rank fusion.

Every channel is derived state: it can be rebuilt from the committed rows in SQL.
"""
