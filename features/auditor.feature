Feature: Auditors verify exported event logs
  As an auditor
  I want to export the audit log and check it on my own
  So that I can prove the records I hold are complete and untampered

  Background:
    Given streamledger has ingested a simulated network of 60 ledgers, with reorganisations

  Scenario: Export the audit log and verify it
    When I export the audit log as CSV, with its manifest
    Then verifying the export with the log's public key says it is OK

  Scenario: Detect a tampered export
    Given I exported the audit log as CSV, with its manifest
    When someone changes an amount in the export
    Then verifying the export fails and names the row that was altered
