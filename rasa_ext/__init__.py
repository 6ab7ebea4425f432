"""Extensions the Rasa server loads from endpoints.yml."""
