"""The import service: Allociné showtimes into the catalog, daily and on demand."""
