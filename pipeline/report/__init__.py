"""The periodic report: rankings per label, weekly trends and examples, as one HTML file."""
