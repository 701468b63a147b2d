Feature: Finance reviewers replay history
  As a finance reviewer
  I want every event of a payment stream, and its state at any ledger
  So that I can check what the treasury owed, and since when

  Background:
    Given streamledger has ingested a simulated network of 60 ledgers, with reorganisations

  Scenario: Replay a stream's history
    Given a stream that has been withdrawn from
    When I read the stream's history
    Then every event shows its ledger and its transaction, in the order the ledgers closed
    And the stream's state is the result of every event that was not reverted

  Scenario: State as of a ledger
    Given a stream that has been withdrawn from
    When I look at the stream as of the ledger before its first withdrawal
    Then nothing has been withdrawn yet
    When I look at the stream as of the ledger of its first withdrawal
    Then the amount withdrawn is the amount of that withdrawal

  Scenario: A reorg is compensated, not erased
    Given a stream whose history was reorganised
    When I read the stream's history
    Then the event the reorganisation undid is still in the history, marked as reverted
    And a reversal event names it and the ledger the chain forked at
    And the stream's state is the result of every event that was not reverted
