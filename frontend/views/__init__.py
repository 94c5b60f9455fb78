"""Server-rendered pages; each module holds the views of one page or journey step."""
