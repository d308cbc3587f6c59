"""One way times and dates read on every page: 24-hour clock, ISO dates, in UTC (TIME_ZONE), the same
as static/js/portal.js's portalTime for rows drawn live. Django's English defaults ("Dec. 6, 2026,
11:07 p.m.") mixed a 12-hour clock with the 24-hour times pages write out."""

DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
DATETIME_FORMAT = "Y-m-d H:i:s"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
