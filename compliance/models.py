from django.db import models


class BusinessAssociate(models.Model):
    """A party that handles PHI for a covered entity (a voice agent vendor, a hosting provider)."""

    name = models.CharField(max_length=200, unique=True)
    services = models.CharField(max_length=300, blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
