"""Templates: healthcare clinic, fitness, fintech/banking, insurance, real estate."""

from __future__ import annotations

from agents.schemas import GoldenQuery, SchemaDesign
from agents.templates.model import DomainTemplate, table


def q(question: str, sql: str, insight: str = "") -> GoldenQuery:
    return GoldenQuery(question=question, sql=sql, insight=insight)


HEALTHCARE = DomainTemplate(
    name="healthcare_clinic",
    title="Healthcare clinic",
    keywords={
        "clinic": 4, "patients": 4, "patient": 2, "appointment": 2.5, "physician": 4, "doctors": 3,
        "pediatrics": 4, "primary care": 5, "insurance accepted": 4, "telehealth": 4, "medical": 3,
        "urgent care": 4, "dermatology": 4, "health": 1, "diagnosis": 3, "nurse": 3, "book an appointment": 2,
    },
    entities=["patient", "provider", "appointment", "diagnosis", "claim"],
    design=SchemaDesign(
        tables=[
            table("providers", 35, "Physicians and nurse practitioners",
                  "provider_id INT64 PK", "name STRING @name",
                  "specialty STRING {family_medicine|pediatrics|dermatology|cardiology|orthopedics}",
                  "clinic_site STRING {Downtown|Northside|Lakeshore}"),
            table("patients", 8000, "Registered patients (synthetic, no real PHI)",
                  "patient_id INT64 PK", "birth_year INT64 [1935,2023]", "sex STRING {F|M|X}",
                  "insurance_type STRING {commercial|medicare|medicaid|self_pay}", "registered_date DATE"),
            table("appointments", 40000, "Scheduled visits",
                  "appointment_id INT64 PK", "patient_id INT64 FK patients.patient_id",
                  "provider_id INT64 FK providers.provider_id", "scheduled_at TIMESTAMP NN",
                  "visit_type STRING {new_patient|follow_up|annual_physical|telehealth|urgent}",
                  "status STRING {completed|no_show|cancelled}", "wait_minutes INT64 [0,90]"),
            table("claims", 32000, "Insurance claims for completed visits",
                  "claim_id INT64 PK", "appointment_id INT64 FK appointments.appointment_id",
                  "billed_amount NUMERIC [60,1500]", "paid_amount NUMERIC [0,1500]",
                  "claim_status STRING {paid|denied|pending}"),
        ]
    ),
    questions=[
        q("What is the no-show rate by visit type?",
          "SELECT visit_type, COUNTIF(status = 'no_show') / COUNT(*) AS no_show_rate, COUNT(*) AS appointments "
          "FROM {dataset}.appointments GROUP BY visit_type ORDER BY no_show_rate DESC"),
        q("How many completed visits does each provider see per month?",
          "SELECT p.name, DATE_TRUNC(DATE(a.scheduled_at), MONTH) AS month, COUNT(*) AS visits "
          "FROM {dataset}.appointments AS a JOIN {dataset}.providers AS p ON a.provider_id = p.provider_id "
          "WHERE a.status = 'completed' GROUP BY p.name, month ORDER BY month, visits DESC"),
        q("What is the claim denial rate by insurance type?",
          "SELECT pt.insurance_type, COUNTIF(c.claim_status = 'denied') / COUNT(*) AS denial_rate "
          "FROM {dataset}.claims AS c JOIN {dataset}.appointments AS a ON c.appointment_id = a.appointment_id "
          "JOIN {dataset}.patients AS pt ON a.patient_id = pt.patient_id GROUP BY pt.insurance_type "
          "ORDER BY denial_rate DESC"),
        q("What is the average wait time at each clinic site?",
          "SELECT p.clinic_site, AVG(a.wait_minutes) AS avg_wait_minutes FROM {dataset}.appointments AS a "
          "JOIN {dataset}.providers AS p ON a.provider_id = p.provider_id WHERE a.status = 'completed' "
          "GROUP BY p.clinic_site ORDER BY avg_wait_minutes DESC"),
        q("How much revenue does each specialty collect?",
          "SELECT p.specialty, SUM(c.paid_amount) AS collected, SUM(c.billed_amount) AS billed "
          "FROM {dataset}.claims AS c JOIN {dataset}.appointments AS a ON c.appointment_id = a.appointment_id "
          "JOIN {dataset}.providers AS p ON a.provider_id = p.provider_id GROUP BY p.specialty ORDER BY collected DESC"),
    ],
    instructions="All patient data is synthetic. Never return individual patient rows; aggregate. No-show rate is "
    "no-show appointments divided by all scheduled appointments. Collected revenue is claims.paid_amount.",
    demo_outline=["No-shows by visit type", "Provider productivity", "Payer denials", "Patient wait times",
                  "Revenue by specialty"],
    sample_products=["Primary care", "Pediatrics", "Telehealth visits"],
)

FITNESS = DomainTemplate(
    name="fitness",
    title="Fitness studio / gym",
    keywords={
        "gym": 5, "fitness": 4, "workout": 3, "classes": 1.5, "membership": 3, "personal training": 4,
        "yoga": 3, "pilates": 4, "hiit": 4, "spin": 3, "trainers": 3, "strength": 2, "studio": 1.5,
        "class schedule": 4, "first class free": 4, "wellness": 1,
    },
    entities=["member", "membership plan", "class", "check-in", "trainer"],
    design=SchemaDesign(
        tables=[
            table("members", 4000, "Gym members",
                  "member_id INT64 PK", "name STRING @name", "joined_date DATE NN",
                  "plan STRING {basic|unlimited|class_pack|premium}", "monthly_fee NUMERIC [19,189]",
                  "cancelled_date DATE"),
            table("classes", 3000, "Scheduled group classes",
                  "class_id INT64 PK", "class_type STRING {yoga|hiit|spin|pilates|strength|boxing}",
                  "trainer STRING @first_name", "starts_at TIMESTAMP NN", "capacity INT64 [8,40]"),
            table("bookings", 45000, "Class bookings",
                  "booking_id INT64 PK", "class_id INT64 FK classes.class_id", "member_id INT64 FK members.member_id",
                  "attended BOOL"),
            table("checkins", 90000, "Front-desk check-ins",
                  "checkin_id INT64 PK", "member_id INT64 FK members.member_id", "checkin_at TIMESTAMP NN",
                  "location STRING {Main St|Riverside|Uptown}"),
        ]
    ),
    questions=[
        q("What is the average class fill rate by class type?",
          "SELECT c.class_type, COUNT(b.booking_id) / SUM(c.capacity) AS fill_rate FROM {dataset}.classes AS c "
          "LEFT JOIN {dataset}.bookings AS b ON b.class_id = c.class_id GROUP BY c.class_type ORDER BY fill_rate DESC"),
        q("How many members join and cancel each month?",
          "SELECT DATE_TRUNC(joined_date, MONTH) AS month, COUNT(*) AS joined, COUNTIF(cancelled_date IS NOT NULL) "
          "AS later_cancelled FROM {dataset}.members GROUP BY month ORDER BY month"),
        q("Which plans bring the most monthly revenue?",
          "SELECT plan, COUNT(*) AS active_members, SUM(monthly_fee) AS monthly_revenue FROM {dataset}.members "
          "WHERE cancelled_date IS NULL GROUP BY plan ORDER BY monthly_revenue DESC"),
        q("What are the busiest check-in hours per location?",
          "SELECT location, EXTRACT(HOUR FROM checkin_at) AS hour, COUNT(*) AS checkins FROM {dataset}.checkins "
          "GROUP BY location, hour ORDER BY checkins DESC LIMIT 20"),
        q("What share of class bookings turn into attendance?",
          "SELECT c.class_type, COUNTIF(b.attended) / COUNT(*) AS attendance_rate FROM {dataset}.bookings AS b "
          "JOIN {dataset}.classes AS c ON b.class_id = c.class_id GROUP BY c.class_type ORDER BY attendance_rate"),
    ],
    instructions="Active members have no cancelled_date. Fill rate is bookings divided by class capacity. "
    "Attendance rate is attended bookings divided by bookings.",
    demo_outline=["Class fill rates", "Member growth and churn", "Plan revenue", "Peak hours", "Attendance"],
    sample_products=["Unlimited membership", "Reformer pilates", "Personal training packs"],
)

FINTECH = DomainTemplate(
    name="fintech",
    title="Fintech / digital banking",
    keywords={
        "banking": 4, "bank": 3, "checking account": 5, "savings account": 5, "debit card": 4, "credit card": 3,
        "payments": 2, "loans": 3, "apy": 5, "fdic": 5, "mobile banking": 5, "transfers": 3, "fintech": 5,
        "interest rate": 3, "overdraft": 4, "wallet": 2, "credit score": 3,
    },
    entities=["customer", "account", "transaction", "card", "loan"],
    design=SchemaDesign(
        tables=[
            table("customers", 6000, "Bank customers",
                  "customer_id INT64 PK", "name STRING @name", "segment STRING {student|mass|affluent|small_business}",
                  "onboarded_date DATE NN", "credit_score INT64 [480,850]"),
            table("accounts", 9000, "Deposit accounts",
                  "account_id INT64 PK", "customer_id INT64 FK customers.customer_id",
                  "account_type STRING {checking|savings|business}", "opened_date DATE NN",
                  "balance NUMERIC [0,250000]"),
            table("transactions", 150000, "Card and account transactions",
                  "transaction_id INT64 PK", "account_id INT64 FK accounts.account_id", "posted_at TIMESTAMP NN",
                  "amount NUMERIC [1,5000]", "direction STRING {debit|credit}",
                  "merchant_category STRING {groceries|travel|dining|utilities|transfer|shopping}",
                  "is_flagged BOOL"),
            table("loans", 2500, "Consumer and business loans",
                  "loan_id INT64 PK", "customer_id INT64 FK customers.customer_id",
                  "product STRING {personal|auto|mortgage|sme}", "principal NUMERIC [1000,600000]",
                  "interest_rate FLOAT64 [2.5,24]", "status STRING {current|late|default|paid_off}"),
        ]
    ),
    questions=[
        q("What are total deposits by account type?",
          "SELECT account_type, SUM(balance) AS deposits, COUNT(*) AS accounts FROM {dataset}.accounts "
          "GROUP BY account_type ORDER BY deposits DESC"),
        q("How does card spend break down by merchant category each month?",
          "SELECT DATE_TRUNC(DATE(posted_at), MONTH) AS month, merchant_category, SUM(amount) AS spend "
          "FROM {dataset}.transactions WHERE direction = 'debit' GROUP BY month, merchant_category ORDER BY month"),
        q("What is the loan default rate by product?",
          "SELECT product, COUNTIF(status = 'default') / COUNT(*) AS default_rate, SUM(principal) AS principal "
          "FROM {dataset}.loans GROUP BY product ORDER BY default_rate DESC"),
        q("How does credit score relate to loan delinquency?",
          "SELECT CAST(FLOOR(c.credit_score / 50) * 50 AS INT64) AS score_band, "
          "COUNTIF(l.status IN ('late', 'default')) / COUNT(*) AS delinquency_rate FROM {dataset}.loans AS l "
          "JOIN {dataset}.customers AS c ON l.customer_id = c.customer_id GROUP BY score_band ORDER BY score_band"),
        q("What share of transactions is flagged for fraud review by category?",
          "SELECT merchant_category, COUNTIF(is_flagged) / COUNT(*) AS flagged_rate FROM {dataset}.transactions "
          "GROUP BY merchant_category ORDER BY flagged_rate DESC"),
    ],
    instructions="Deposits are account balances. Spend is debit transactions. Delinquent loans are late or in "
    "default. Never expose individual customer names; aggregate by segment.",
    demo_outline=["Deposit mix", "Spend by category", "Credit risk by product", "Score bands vs delinquency",
                  "Fraud flags"],
    sample_products=["High-yield savings", "No-fee checking", "Small business loans"],
)

INSURANCE = DomainTemplate(
    name="insurance",
    title="Insurance",
    keywords={
        "insurance": 4, "policy": 2, "policies": 3, "premium": 3, "claims": 3, "coverage": 4, "deductible": 5,
        "underwriting": 5, "get a quote": 4, "agents": 1, "auto insurance": 5, "home insurance": 5,
        "life insurance": 5, "insured": 4, "policyholders": 5,
    },
    entities=["policyholder", "policy", "claim", "agent", "premium payment"],
    design=SchemaDesign(
        tables=[
            table("agents", 80, "Insurance agents",
                  "agent_id INT64 PK", "name STRING @name", "region STRING {Northeast|South|Midwest|West}"),
            table("policyholders", 9000, "Insured customers",
                  "policyholder_id INT64 PK", "birth_year INT64 [1940,2005]", "state STRING @state_abbr",
                  "customer_since DATE"),
            table("policies", 12000, "Written policies",
                  "policy_id INT64 PK", "policyholder_id INT64 FK policyholders.policyholder_id",
                  "agent_id INT64 FK agents.agent_id", "line STRING {auto|home|renters|life|umbrella}",
                  "annual_premium NUMERIC [150,6000]", "start_date DATE NN", "status STRING {active|lapsed|cancelled}"),
            table("claims", 4000, "Claims filed against policies",
                  "claim_id INT64 PK", "policy_id INT64 FK policies.policy_id", "filed_date DATE NN",
                  "claim_type STRING {collision|theft|water_damage|fire|liability|medical}",
                  "claimed_amount NUMERIC [200,80000]", "paid_amount NUMERIC [0,80000]",
                  "status STRING {open|approved|denied}", "days_to_close INT64 [1,180]"),
        ]
    ),
    questions=[
        q("What is the loss ratio by line of business?",
          "SELECT p.line, SUM(c.paid_amount) / SUM(p.annual_premium) AS loss_ratio FROM {dataset}.policies AS p "
          "LEFT JOIN {dataset}.claims AS c ON c.policy_id = p.policy_id GROUP BY p.line ORDER BY loss_ratio DESC"),
        q("How many claims are filed each month by type?",
          "SELECT DATE_TRUNC(filed_date, MONTH) AS month, claim_type, COUNT(*) AS claims FROM {dataset}.claims "
          "GROUP BY month, claim_type ORDER BY month"),
        q("Which agents write the most premium?",
          "SELECT a.name, a.region, SUM(p.annual_premium) AS written_premium, COUNT(*) AS policies "
          "FROM {dataset}.policies AS p JOIN {dataset}.agents AS a ON p.agent_id = a.agent_id "
          "GROUP BY a.name, a.region ORDER BY written_premium DESC LIMIT 10"),
        q("How long does it take to close claims by type?",
          "SELECT claim_type, AVG(days_to_close) AS avg_days, COUNTIF(status = 'denied') / COUNT(*) AS denial_rate "
          "FROM {dataset}.claims WHERE status != 'open' GROUP BY claim_type ORDER BY avg_days DESC"),
        q("What is the policy lapse rate by line?",
          "SELECT line, COUNTIF(status = 'lapsed') / COUNT(*) AS lapse_rate FROM {dataset}.policies "
          "GROUP BY line ORDER BY lapse_rate DESC"),
    ],
    instructions="Loss ratio is paid claims divided by annual premium. Written premium sums annual_premium. "
    "Claim cycle time is days_to_close.",
    demo_outline=["Loss ratio by line", "Claim frequency", "Agent production", "Claims cycle time", "Retention"],
    sample_products=["Auto insurance", "Homeowners coverage", "Term life"],
)

REAL_ESTATE = DomainTemplate(
    name="real_estate",
    title="Real estate brokerage",
    keywords={
        "real estate": 5, "homes for sale": 5, "listings": 4, "listing": 2, "realtor": 5, "brokerage": 4,
        "buy a home": 4, "sell your home": 4, "open house": 4, "mortgage": 2, "bedrooms": 3, "sq ft": 3,
        "property": 2, "properties": 2, "neighborhood": 2, "mls": 4,
    },
    entities=["property", "listing", "agent", "showing", "transaction"],
    design=SchemaDesign(
        tables=[
            table("agents", 50, "Listing and buyer agents",
                  "agent_id INT64 PK", "name STRING @name", "office STRING {Downtown|Suburbs|Coast}"),
            table("properties", 4000, "Homes and units",
                  "property_id INT64 PK", "neighborhood STRING {Oak Park|Riverside|Hillcrest|Midtown|Harbor}",
                  "property_type STRING {single_family|condo|townhouse|multi_family}", "bedrooms INT64 [1,6]",
                  "square_feet INT64 [450,5200]", "year_built INT64 [1920,2024]"),
            table("listings", 5000, "Listings on the market",
                  "listing_id INT64 PK", "property_id INT64 FK properties.property_id",
                  "agent_id INT64 FK agents.agent_id", "listed_date DATE NN", "list_price NUMERIC [150000,2500000]",
                  "status STRING {active|pending|sold|withdrawn}"),
            table("closings", 2800, "Closed sales",
                  "closing_id INT64 PK", "listing_id INT64 FK listings.listing_id", "closed_date DATE NN",
                  "sale_price NUMERIC [140000,2600000]", "commission NUMERIC [3000,75000]"),
        ]
    ),
    questions=[
        q("What is the median sale price by neighborhood?",
          "SELECT p.neighborhood, APPROX_QUANTILES(c.sale_price, 2)[OFFSET(1)] AS median_price, COUNT(*) AS sales "
          "FROM {dataset}.closings AS c JOIN {dataset}.listings AS l ON c.listing_id = l.listing_id "
          "JOIN {dataset}.properties AS p ON l.property_id = p.property_id GROUP BY p.neighborhood "
          "ORDER BY median_price DESC"),
        q("How many days do listings take to sell by property type?",
          "SELECT p.property_type, AVG(DATE_DIFF(c.closed_date, l.listed_date, DAY)) AS avg_days_to_close "
          "FROM {dataset}.closings AS c JOIN {dataset}.listings AS l ON c.listing_id = l.listing_id "
          "JOIN {dataset}.properties AS p ON l.property_id = p.property_id GROUP BY p.property_type "
          "ORDER BY avg_days_to_close"),
        q("What is the sale-to-list price ratio each month?",
          "SELECT DATE_TRUNC(c.closed_date, MONTH) AS month, AVG(c.sale_price / l.list_price) AS sale_to_list "
          "FROM {dataset}.closings AS c JOIN {dataset}.listings AS l ON c.listing_id = l.listing_id "
          "GROUP BY month ORDER BY month"),
        q("Which agents earn the most commission?",
          "SELECT a.name, a.office, SUM(c.commission) AS commission, COUNT(*) AS deals FROM {dataset}.closings AS c "
          "JOIN {dataset}.listings AS l ON c.listing_id = l.listing_id JOIN {dataset}.agents AS a "
          "ON l.agent_id = a.agent_id GROUP BY a.name, a.office ORDER BY commission DESC LIMIT 10"),
        q("What is the price per square foot by neighborhood?",
          "SELECT p.neighborhood, SUM(c.sale_price) / SUM(p.square_feet) AS price_per_sqft "
          "FROM {dataset}.closings AS c JOIN {dataset}.listings AS l ON c.listing_id = l.listing_id "
          "JOIN {dataset}.properties AS p ON l.property_id = p.property_id GROUP BY p.neighborhood "
          "ORDER BY price_per_sqft DESC"),
    ],
    instructions="Prices are in USD. Days to close is closed_date minus listed_date. Sale-to-list ratio is "
    "sale_price divided by list_price.",
    demo_outline=["Prices by neighborhood", "Market speed", "Negotiation power", "Agent leaderboard",
                  "Price per square foot"],
    sample_products=["Buyer representation", "Home valuation", "Luxury listings"],
)

TEMPLATES = [HEALTHCARE, FITNESS, FINTECH, INSURANCE, REAL_ESTATE]
