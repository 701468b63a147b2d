Feature: Treasury analysts follow invoice escrows
  As a treasury analyst at LiquiFact
  I want each invoice's funding, settlement and claims, and each investor's positions
  So that I can tell what every investor put in, what they are owed and what was paid

  Background:
    Given streamledger has ingested a simulated network of 500 ledgers with invoice escrows, with reorganisations

  Scenario: Follow an invoice from funding to settlement
    Given an invoice escrow that has been settled and claimed
    When I read the escrow and its history
    Then its funded total is what its investors put in, less what they took back
    And each claimed payout is the investor's contribution grown by their yield, rounded down as the contract does
    And the history shows the fundings in the order the ledgers closed, ending with the claims

  Scenario: An investor reads their positions
    Given an investor who funded at least two escrows
    When I read the investor's positions
    Then each escrow they funded is listed once, with what they contributed there
