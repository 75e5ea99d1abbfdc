"""The periodic report (HTML and PDF, in Chinese): volumes and label mix, platforms with
intervals, the early-warning watchlist, funnel plots, fair merchant rankings, a data-quality
annex and the methodology."""
