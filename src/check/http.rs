//! HTTP_GET (sans-IO): being written.
