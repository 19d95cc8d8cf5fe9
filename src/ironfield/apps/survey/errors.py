"""Errors of the survey app: each says what is wrong and where (file, point, area)."""

from __future__ import annotations

from ironfield.core.errors import IronfieldError


class SurveyError(IronfieldError):
    """Base of every error the survey app raises on purpose."""


class CloudReadError(SurveyError):
    """A LAS/LAZ file that cannot be read completely (truncated, corrupt, not LAS)."""


class UnitsError(SurveyError):
    """Units or CRS that are unknown, inconsistent between tiles, or between surveys."""


class NoOverlapError(SurveyError):
    """Two surveys (or a survey and a design surface) that share no area."""


class PolygonError(SurveyError):
    """A stockpile polygon that is malformed, in an unknown CRS or outside the data."""


class EmptyGroundError(SurveyError):
    """No ground points where a ground model is needed."""
