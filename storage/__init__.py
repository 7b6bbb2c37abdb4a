"""SQL storage: the source of truth. Models, repositories (all SQL), records, quantization."""
