"""One module per console page (or pair of pages): its routes, thin, calling domain services."""
