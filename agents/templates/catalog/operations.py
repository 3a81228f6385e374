"""Templates: logistics, telecom, energy utility, media/streaming, travel/hotel."""

from __future__ import annotations

from agents.schemas import GoldenQuery, SchemaDesign
from agents.templates.model import DomainTemplate, table


def q(question: str, sql: str, insight: str = "") -> GoldenQuery:
    return GoldenQuery(question=question, sql=sql, insight=insight)


LOGISTICS = DomainTemplate(
    name="logistics",
    title="Logistics / freight",
    keywords={
        "logistics": 5, "freight": 5, "shipments": 4, "shipment": 2, "trucking": 5, "warehousing": 4,
        "warehouse": 2, "last-mile": 4, "fleet": 3, "carriers": 3, "ltl": 5, "tracking": 2, "dispatch": 3,
        "supply chain": 2, "3pl": 5, "pallets": 4, "on-time delivery": 4,
    },
    entities=["shipment", "customer", "carrier/vehicle", "route", "delivery event"],
    design=SchemaDesign(
        tables=[
            table("customers", 500, "Shippers",
                  "customer_id INT64 PK", "company STRING @company", "industry STRING {retail|food|industrial|pharma}"),
            table("vehicles", 120, "Fleet",
                  "vehicle_id INT64 PK", "vehicle_type STRING {box_truck|tractor_trailer|van}",
                  "depot STRING {Chicago|Dallas|Atlanta|Denver}", "capacity_kg INT64 [1500,24000]"),
            table("shipments", 30000, "Shipments",
                  "shipment_id INT64 PK", "customer_id INT64 FK customers.customer_id",
                  "vehicle_id INT64 FK vehicles.vehicle_id", "pickup_date DATE NN", "promised_date DATE NN",
                  "delivered_date DATE", "weight_kg FLOAT64 [5,20000]", "distance_km FLOAT64 [5,2500]",
                  "revenue NUMERIC [40,9000]", "status STRING {delivered|in_transit|exception}"),
            table("fuel_logs", 15000, "Fuel purchases",
                  "fuel_log_id INT64 PK", "vehicle_id INT64 FK vehicles.vehicle_id", "log_date DATE NN",
                  "liters FLOAT64 [20,600]", "cost NUMERIC [30,1100]"),
        ]
    ),
    questions=[
        q("What is our on-time delivery rate by depot?",
          "SELECT v.depot, COUNTIF(s.delivered_date <= s.promised_date) / COUNT(*) AS on_time_rate "
          "FROM {dataset}.shipments AS s JOIN {dataset}.vehicles AS v ON s.vehicle_id = v.vehicle_id "
          "WHERE s.status = 'delivered' GROUP BY v.depot ORDER BY on_time_rate"),
        q("What is revenue per kilometer by customer industry?",
          "SELECT c.industry, SUM(s.revenue) / SUM(s.distance_km) AS revenue_per_km FROM {dataset}.shipments AS s "
          "JOIN {dataset}.customers AS c ON s.customer_id = c.customer_id GROUP BY c.industry "
          "ORDER BY revenue_per_km DESC"),
        q("How many shipments do we move each week?",
          "SELECT DATE_TRUNC(pickup_date, WEEK) AS week, COUNT(*) AS shipments, SUM(weight_kg) / 1000 AS tonnes "
          "FROM {dataset}.shipments GROUP BY week ORDER BY week"),
        q("What does fuel cost per vehicle type?",
          "SELECT v.vehicle_type, SUM(f.cost) AS fuel_cost, SUM(f.liters) AS liters FROM {dataset}.fuel_logs AS f "
          "JOIN {dataset}.vehicles AS v ON f.vehicle_id = v.vehicle_id GROUP BY v.vehicle_type ORDER BY fuel_cost DESC"),
        q("Which customers have the most delivery exceptions?",
          "SELECT c.company, COUNTIF(s.status = 'exception') AS exceptions, COUNT(*) AS shipments "
          "FROM {dataset}.shipments AS s JOIN {dataset}.customers AS c ON s.customer_id = c.customer_id "
          "GROUP BY c.company ORDER BY exceptions DESC LIMIT 10"),
    ],
    instructions="On time means delivered_date on or before promised_date. Revenue per km uses shipment distance. "
    "Exceptions are shipments with status exception.",
    demo_outline=["On-time performance", "Lane profitability", "Weekly volume", "Fuel costs", "Exception accounts"],
    sample_products=["Full truckload", "LTL freight", "Last-mile delivery"],
)

TELECOM = DomainTemplate(
    name="telecom",
    title="Telecom / internet provider",
    keywords={
        "internet": 2, "fiber": 5, "broadband": 5, "mbps": 5, "gbps": 5, "wireless": 3, "5g": 5, "mobile plans": 5,
        "unlimited data": 5, "coverage map": 5, "router": 3, "isp": 5, "prepaid": 3, "roaming": 4, "bundle": 1.5,
    },
    entities=["subscriber", "plan", "usage record", "support ticket", "bill"],
    design=SchemaDesign(
        tables=[
            table("plans", 12, "Service plans",
                  "plan_id INT64 PK", "name STRING {Fiber 300|Fiber 1G|Mobile Basic|Mobile Unlimited|Bundle Max}",
                  "service STRING {fiber|mobile|bundle}", "monthly_price NUMERIC [15,180]"),
            table("subscribers", 10000, "Subscribers",
                  "subscriber_id INT64 PK", "plan_id INT64 FK plans.plan_id",
                  "region STRING {Metro|Suburban|Rural}", "activated_date DATE NN", "churned_date DATE"),
            table("usage_daily", 150000, "Daily data usage",
                  "usage_id INT64 PK", "subscriber_id INT64 FK subscribers.subscriber_id", "usage_date DATE NN",
                  "data_gb FLOAT64 [0,60]", "dropped_calls INT64 [0,5]"),
            table("support_tickets", 12000, "Customer support tickets",
                  "ticket_id INT64 PK", "subscriber_id INT64 FK subscribers.subscriber_id", "opened_at TIMESTAMP NN",
                  "category STRING {outage|billing|speed|device|moving}", "resolution_hours FLOAT64 [0.2,96]"),
        ]
    ),
    questions=[
        q("What is the churn rate by plan?",
          "SELECT p.name, COUNTIF(s.churned_date IS NOT NULL) / COUNT(*) AS churn_rate, COUNT(*) AS subscribers "
          "FROM {dataset}.subscribers AS s JOIN {dataset}.plans AS p ON s.plan_id = p.plan_id "
          "GROUP BY p.name ORDER BY churn_rate DESC"),
        q("How much data do subscribers use per region each month?",
          "SELECT s.region, DATE_TRUNC(u.usage_date, MONTH) AS month, SUM(u.data_gb) AS data_gb "
          "FROM {dataset}.usage_daily AS u JOIN {dataset}.subscribers AS s ON u.subscriber_id = s.subscriber_id "
          "GROUP BY s.region, month ORDER BY month"),
        q("What are the most common support issues and how fast are they resolved?",
          "SELECT category, COUNT(*) AS tickets, AVG(resolution_hours) AS avg_resolution_hours "
          "FROM {dataset}.support_tickets GROUP BY category ORDER BY tickets DESC"),
        q("What is the monthly recurring revenue by service?",
          "SELECT p.service, SUM(p.monthly_price) AS mrr, COUNT(*) AS active_subscribers "
          "FROM {dataset}.subscribers AS s JOIN {dataset}.plans AS p ON s.plan_id = p.plan_id "
          "WHERE s.churned_date IS NULL GROUP BY p.service ORDER BY mrr DESC"),
        q("Which regions have the most dropped calls per subscriber?",
          "SELECT s.region, SUM(u.dropped_calls) / COUNT(DISTINCT s.subscriber_id) AS dropped_per_subscriber "
          "FROM {dataset}.usage_daily AS u JOIN {dataset}.subscribers AS s ON u.subscriber_id = s.subscriber_id "
          "GROUP BY s.region ORDER BY dropped_per_subscriber DESC"),
    ],
    instructions="Active subscribers have no churned_date. MRR sums monthly_price of active subscribers. "
    "Network quality is measured by dropped calls.",
    demo_outline=["Churn by plan", "Data growth by region", "Support drivers", "MRR by service", "Network quality"],
    sample_products=["Fiber 1 Gig", "Unlimited 5G", "Home + mobile bundle"],
)

ENERGY = DomainTemplate(
    name="energy_utility",
    title="Energy / utility",
    keywords={
        "energy": 3, "utility": 4, "electricity": 5, "solar": 4, "kwh": 5, "renewable": 4, "power": 2,
        "grid": 4, "outage": 3, "meter": 4, "rates": 1.5, "natural gas": 4, "efficiency": 1.5, "wind": 2,
        "battery storage": 4, "energy plans": 5,
    },
    entities=["customer premise", "meter reading", "tariff", "outage", "generation asset"],
    design=SchemaDesign(
        tables=[
            table("premises", 6000, "Service addresses",
                  "premise_id INT64 PK", "customer_class STRING {residential|commercial|industrial}",
                  "tariff STRING {standard|time_of_use|green|ev}", "zone STRING {north|south|east|west}",
                  "has_solar BOOL"),
            table("meter_readings", 180000, "Daily meter reads",
                  "reading_id INT64 PK", "premise_id INT64 FK premises.premise_id", "reading_date DATE NN",
                  "kwh_used FLOAT64 [0,400]", "kwh_exported FLOAT64 [0,60]"),
            table("outages", 900, "Outage events",
                  "outage_id INT64 PK", "zone STRING {north|south|east|west}", "started_at TIMESTAMP NN",
                  "duration_minutes INT64 [5,720]", "customers_affected INT64 [10,20000]",
                  "cause STRING {weather|equipment|vegetation|planned|animal}"),
            table("bills", 70000, "Monthly bills",
                  "bill_id INT64 PK", "premise_id INT64 FK premises.premise_id", "bill_month DATE NN",
                  "amount NUMERIC [20,9000]", "paid BOOL"),
        ]
    ),
    questions=[
        q("What is the average daily consumption by customer class?",
          "SELECT p.customer_class, AVG(m.kwh_used) AS avg_daily_kwh FROM {dataset}.meter_readings AS m "
          "JOIN {dataset}.premises AS p ON m.premise_id = p.premise_id GROUP BY p.customer_class "
          "ORDER BY avg_daily_kwh DESC"),
        q("How much energy do solar customers export each month?",
          "SELECT DATE_TRUNC(m.reading_date, MONTH) AS month, SUM(m.kwh_exported) AS kwh_exported "
          "FROM {dataset}.meter_readings AS m JOIN {dataset}.premises AS p ON m.premise_id = p.premise_id "
          "WHERE p.has_solar GROUP BY month ORDER BY month"),
        q("What causes the most customer outage minutes?",
          "SELECT cause, SUM(duration_minutes * customers_affected) AS customer_minutes, COUNT(*) AS outages "
          "FROM {dataset}.outages GROUP BY cause ORDER BY customer_minutes DESC"),
        q("Which zones have the most outage events?",
          "SELECT zone, COUNT(*) AS outages, AVG(duration_minutes) AS avg_minutes FROM {dataset}.outages "
          "GROUP BY zone ORDER BY outages DESC"),
        q("What is billed revenue and unpaid share by tariff?",
          "SELECT p.tariff, SUM(b.amount) AS billed, COUNTIF(NOT b.paid) / COUNT(*) AS unpaid_share "
          "FROM {dataset}.bills AS b JOIN {dataset}.premises AS p ON b.premise_id = p.premise_id "
          "GROUP BY p.tariff ORDER BY billed DESC"),
    ],
    instructions="Consumption is kwh_used per daily reading. Customer minutes of interruption multiply duration by "
    "customers affected. Unpaid share is unpaid bills divided by all bills.",
    demo_outline=["Load by customer class", "Solar exports", "Reliability by cause", "Outages by zone",
                  "Billing and collections"],
    sample_products=["Time-of-use plans", "Community solar", "EV charging tariff"],
)

MEDIA = DomainTemplate(
    name="media_streaming",
    title="Media / streaming",
    keywords={
        "streaming": 5, "watch": 2, "episodes": 4, "series": 2, "originals": 4, "subscribe": 2, "podcast": 3,
        "playlist": 3, "binge": 5, "movies": 3, "documentaries": 4, "watchlist": 5, "ad-free": 4, "4k": 3,
        "stream": 3, "premieres": 4,
    },
    entities=["subscriber", "title", "viewing session", "subscription", "genre"],
    design=SchemaDesign(
        tables=[
            table("subscribers", 8000, "Streaming subscribers",
                  "subscriber_id INT64 PK", "country STRING {US|MX|BR|GB|ES|IN}",
                  "plan STRING {ad_supported|standard|premium}", "signup_date DATE NN", "cancel_date DATE"),
            table("titles", 1200, "Catalog titles",
                  "title_id INT64 PK", "name STRING @catch_phrase",
                  "genre STRING {drama|comedy|documentary|kids|thriller|reality}", "is_original BOOL",
                  "release_date DATE", "runtime_minutes INT64 [20,180]"),
            table("viewing_sessions", 200000, "Playback sessions",
                  "session_id INT64 PK", "subscriber_id INT64 FK subscribers.subscriber_id",
                  "title_id INT64 FK titles.title_id", "started_at TIMESTAMP NN", "minutes_watched INT64 [1,180]",
                  "device STRING {tv|mobile|web|tablet}", "completed BOOL"),
        ]
    ),
    questions=[
        q("Which genres get the most watch time?",
          "SELECT t.genre, SUM(v.minutes_watched) / 60 AS hours_watched FROM {dataset}.viewing_sessions AS v "
          "JOIN {dataset}.titles AS t ON v.title_id = t.title_id GROUP BY t.genre ORDER BY hours_watched DESC"),
        q("What are the top 10 titles by unique viewers?",
          "SELECT t.name, t.genre, COUNT(DISTINCT v.subscriber_id) AS viewers FROM {dataset}.viewing_sessions AS v "
          "JOIN {dataset}.titles AS t ON v.title_id = t.title_id GROUP BY t.name, t.genre ORDER BY viewers DESC LIMIT 10"),
        q("Do originals have higher completion rates than licensed titles?",
          "SELECT t.is_original, COUNTIF(v.completed) / COUNT(*) AS completion_rate FROM {dataset}.viewing_sessions AS v "
          "JOIN {dataset}.titles AS t ON v.title_id = t.title_id GROUP BY t.is_original"),
        q("What is the churn rate by plan?",
          "SELECT plan, COUNTIF(cancel_date IS NOT NULL) / COUNT(*) AS churn_rate, COUNT(*) AS subscribers "
          "FROM {dataset}.subscribers GROUP BY plan ORDER BY churn_rate DESC"),
        q("How is viewing split across devices each month?",
          "SELECT DATE_TRUNC(DATE(started_at), MONTH) AS month, device, SUM(minutes_watched) AS minutes "
          "FROM {dataset}.viewing_sessions GROUP BY month, device ORDER BY month"),
    ],
    instructions="Watch time sums minutes_watched. A completed session watched the title to the end. Churned "
    "subscribers have a cancel_date.",
    demo_outline=["Genre engagement", "Top titles", "Originals vs licensed", "Churn by plan", "Device mix"],
    sample_products=["Original series", "Documentaries", "Kids collection"],
)

HOSPITALITY = DomainTemplate(
    name="hospitality",
    title="Travel / hotel",
    keywords={
        "hotel": 5, "resort": 5, "rooms": 3, "suites": 4, "book your stay": 5, "check-in": 2, "amenities": 3,
        "spa": 2, "travel": 2, "vacation": 3, "nightly": 4, "guests": 2, "concierge": 4, "boutique hotel": 5,
        "ocean view": 4, "best rate guarantee": 5,
    },
    entities=["property", "room type", "guest", "reservation", "ancillary spend"],
    design=SchemaDesign(
        tables=[
            table("hotels", 8, "Hotel properties",
                  "hotel_id INT64 PK", "name STRING @company", "city STRING {Lisbon|Cancun|Denver|Kyoto}",
                  "rooms INT64 [40,400]"),
            table("guests", 15000, "Guests",
                  "guest_id INT64 PK", "country STRING {US|GB|DE|JP|MX|FR}", "loyalty_tier STRING {none|silver|gold|platinum}"),
            table("reservations", 40000, "Room reservations",
                  "reservation_id INT64 PK", "hotel_id INT64 FK hotels.hotel_id", "guest_id INT64 FK guests.guest_id",
                  "check_in DATE NN", "nights INT64 [1,14]", "room_type STRING {standard|deluxe|suite}",
                  "nightly_rate NUMERIC [60,900]", "channel STRING {direct|ota|travel_agent|corporate}",
                  "status STRING {stayed|cancelled|no_show}"),
            table("ancillary_charges", 60000, "Spa, dining and other charges",
                  "charge_id INT64 PK", "reservation_id INT64 FK reservations.reservation_id",
                  "category STRING {dining|spa|parking|minibar|tours}", "amount NUMERIC [5,600]"),
        ]
    ),
    questions=[
        q("What is the average daily rate and room revenue by hotel?",
          "SELECT h.name, AVG(r.nightly_rate) AS adr, SUM(r.nightly_rate * r.nights) AS room_revenue "
          "FROM {dataset}.reservations AS r JOIN {dataset}.hotels AS h ON r.hotel_id = h.hotel_id "
          "WHERE r.status = 'stayed' GROUP BY h.name ORDER BY room_revenue DESC"),
        q("Which booking channels bring the most room nights?",
          "SELECT channel, SUM(nights) AS room_nights, AVG(nightly_rate) AS adr FROM {dataset}.reservations "
          "WHERE status = 'stayed' GROUP BY channel ORDER BY room_nights DESC"),
        q("What is the cancellation rate by channel?",
          "SELECT channel, COUNTIF(status = 'cancelled') / COUNT(*) AS cancellation_rate FROM {dataset}.reservations "
          "GROUP BY channel ORDER BY cancellation_rate DESC"),
        q("How much do guests spend beyond the room by loyalty tier?",
          "SELECT g.loyalty_tier, SUM(a.amount) / COUNT(DISTINCT r.reservation_id) AS ancillary_per_stay "
          "FROM {dataset}.ancillary_charges AS a JOIN {dataset}.reservations AS r ON a.reservation_id = r.reservation_id "
          "JOIN {dataset}.guests AS g ON r.guest_id = g.guest_id GROUP BY g.loyalty_tier ORDER BY ancillary_per_stay DESC"),
        q("How are stays trending by month?",
          "SELECT DATE_TRUNC(check_in, MONTH) AS month, COUNT(*) AS stays, SUM(nights) AS room_nights "
          "FROM {dataset}.reservations WHERE status = 'stayed' GROUP BY month ORDER BY month"),
    ],
    instructions="ADR (average daily rate) averages nightly_rate of stayed reservations. Room revenue is nightly_rate "
    "times nights. Ancillary spend comes from ancillary_charges.",
    demo_outline=["ADR and revenue by hotel", "Channel mix", "Cancellations", "Ancillary spend by loyalty tier",
                  "Seasonality"],
    sample_products=["Ocean-view suites", "Spa packages", "Loyalty program"],
)

TEMPLATES = [LOGISTICS, TELECOM, ENERGY, MEDIA, HOSPITALITY]
