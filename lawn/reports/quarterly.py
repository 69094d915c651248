from lawn.reports.page import Section
def build(r): return [Section("todo")]
