"""Code shared by the API and the workers: settings, errors, image probing, the job store, the OCR engine."""
