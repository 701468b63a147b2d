Feature: API consumers read projected streams
  As a developer integrating with the treasury
  I want to list streams, follow them live and receive webhooks
  So that my systems stay in step with what finally happened on chain

  Scenario: List and filter streams
    Given streamledger has ingested a simulated network of 60 ledgers, with reorganisations
    When I list the streams with status "active", two at a time
    Then every stream listed is active
    And following the pages lists each active stream exactly once

  Scenario: Follow a stream over WebSocket and resume after a disconnect
    Given streamledger has ingested a simulated network of 60 ledgers, with reorganisations
    And a stream with at least 4 stored events
    When I follow the stream over WebSocket from its beginning
    And I disconnect after 2 events
    And I follow it again from the position of the last event I received
    Then I have received each of the stream's events exactly once, in order

  Scenario: Receive signed webhooks only for final events
    Given streamledger is following a simulated network that is still closing ledgers, with reorganisations
    And I registered a webhook endpoint for every stream event
    When the network has closed 40 more ledgers
    Then every webhook I received carries a valid signature from my secret
    And every event I was sent is final and was never reverted
    And no event was sent to me twice

  Scenario: Recover the webhooks an endpoint missed
    Given streamledger has ingested a simulated network of 60 ledgers, with reorganisations
    And I registered a webhook endpoint for every stream event
    When I ask to recover every event from ledger 30 on
    Then I receive every final event of ledger 30 and later that was not reverted, exactly once
    And every webhook I received carries a valid signature from my secret
