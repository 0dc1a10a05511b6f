"""What a run leaves behind: verdict.json, evidence files, Allure labels, the summary."""
