"""Scheduling by voice (issue 22): the site's rules, the vendor's path, slots and bookings on FHIR."""
