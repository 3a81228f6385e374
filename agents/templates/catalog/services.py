"""Templates: SaaS, marketing agency, legal services, education, nonprofit."""

from __future__ import annotations

from agents.schemas import GoldenQuery, SchemaDesign
from agents.templates.model import DomainTemplate, table


def q(question: str, sql: str, insight: str = "") -> GoldenQuery:
    return GoldenQuery(question=question, sql=sql, insight=insight)


SAAS = DomainTemplate(
    name="saas",
    title="SaaS / B2B software",
    keywords={
        "saas": 5, "platform": 1.5, "free trial": 4, "start your trial": 4, "pricing": 2, "per seat": 4,
        "subscription": 3, "integrations": 3, "api": 2, "dashboard": 2, "workflow": 2, "teams": 1.5,
        "enterprise plan": 4, "sso": 3, "cloud-based": 3, "book a demo": 3, "automation": 1.5,
    },
    entities=["account", "subscription", "user", "feature usage event", "invoice"],
    design=SchemaDesign(
        tables=[
            table("accounts", 1200, "Customer companies",
                  "account_id INT64 PK", "company STRING @company", "industry STRING {tech|retail|finance|health|media}",
                  "employee_band STRING {1-10|11-50|51-200|201-1000|1000+}", "signup_date DATE NN"),
            table("subscriptions", 1500, "Plan subscriptions (a new row on each plan change)",
                  "subscription_id INT64 PK", "account_id INT64 FK accounts.account_id",
                  "plan STRING {free|starter|growth|enterprise}", "seats INT64 [1,500]", "mrr NUMERIC [0,25000]",
                  "started_at DATE NN", "canceled_at DATE", "status STRING {active|canceled|trialing}"),
            table("users", 9000, "People using the product",
                  "user_id INT64 PK", "account_id INT64 FK accounts.account_id",
                  "role STRING {admin|member|viewer}", "created_at TIMESTAMP"),
            table("usage_events", 120000, "Feature usage events",
                  "event_id INT64 PK", "user_id INT64 FK users.user_id", "event_time TIMESTAMP NN",
                  "feature STRING {reports|automations|integrations|dashboards|api}", "duration_seconds INT64 [1,3600]"),
        ]
    ),
    questions=[
        q("What is our MRR by plan?",
          "SELECT plan, SUM(mrr) AS mrr, COUNT(DISTINCT account_id) AS accounts FROM {dataset}.subscriptions "
          "WHERE status = 'active' GROUP BY plan ORDER BY mrr DESC"),
        q("What is the monthly churn in canceled subscriptions and lost MRR?",
          "SELECT DATE_TRUNC(canceled_at, MONTH) AS month, COUNT(*) AS churned, SUM(mrr) AS churned_mrr "
          "FROM {dataset}.subscriptions WHERE canceled_at IS NOT NULL GROUP BY month ORDER BY month"),
        q("Which features are used the most by weekly active users?",
          "SELECT feature, COUNT(DISTINCT user_id) AS users, COUNT(*) AS events FROM {dataset}.usage_events "
          "GROUP BY feature ORDER BY users DESC"),
        q("Which industries have the highest MRR per account?",
          "SELECT a.industry, SUM(s.mrr) / COUNT(DISTINCT a.account_id) AS mrr_per_account "
          "FROM {dataset}.subscriptions AS s JOIN {dataset}.accounts AS a ON s.account_id = a.account_id "
          "WHERE s.status = 'active' GROUP BY a.industry ORDER BY mrr_per_account DESC"),
        q("Which active accounts have low product usage (churn risk)?",
          "SELECT a.account_id, a.company, COUNT(e.event_id) AS events FROM {dataset}.accounts AS a "
          "JOIN {dataset}.users AS u ON u.account_id = a.account_id LEFT JOIN {dataset}.usage_events AS e "
          "ON e.user_id = u.user_id GROUP BY a.account_id, a.company ORDER BY events ASC LIMIT 20"),
    ],
    instructions="MRR is monthly recurring revenue of active subscriptions. Churn is a subscription with a "
    "canceled_at date. An active user has at least one usage event in the period.",
    demo_outline=["MRR by plan", "Churn trend", "Feature adoption", "Best-fit industries", "Churn-risk accounts"],
    sample_products=["Workflow automation", "Analytics dashboards", "Integrations marketplace"],
)

MARKETING_AGENCY = DomainTemplate(
    name="marketing_agency",
    title="Marketing agency",
    keywords={
        "agency": 4, "marketing agency": 5, "campaigns": 3, "seo": 3, "ppc": 4, "branding": 3, "creative": 2,
        "social media": 2, "clients": 1.5, "content strategy": 3, "paid media": 4, "roas": 4, "case studies": 2,
        "digital marketing": 4, "conversion": 1.5, "impressions": 3,
    },
    entities=["client", "campaign", "channel", "daily performance", "invoice"],
    design=SchemaDesign(
        tables=[
            table("clients", 60, "Agency clients",
                  "client_id INT64 PK", "name STRING @company", "industry STRING {retail|saas|health|finance|travel}",
                  "retainer_usd NUMERIC [2000,40000]", "since_date DATE"),
            table("campaigns", 400, "Campaigns run for clients",
                  "campaign_id INT64 PK", "client_id INT64 FK clients.client_id",
                  "channel STRING {search|social|display|email|video}",
                  "objective STRING {awareness|leads|sales}", "start_date DATE NN", "budget NUMERIC [1000,200000]"),
            table("daily_performance", 50000, "Daily delivery and results per campaign",
                  "row_id INT64 PK", "campaign_id INT64 FK campaigns.campaign_id", "day DATE NN",
                  "impressions INT64 [100,500000]", "clicks INT64 [0,20000]", "conversions INT64 [0,900]",
                  "spend NUMERIC [10,8000]", "revenue NUMERIC [0,40000]"),
        ]
    ),
    questions=[
        q("What is the return on ad spend by channel?",
          "SELECT c.channel, SUM(p.revenue) / SUM(p.spend) AS roas, SUM(p.spend) AS spend "
          "FROM {dataset}.daily_performance AS p JOIN {dataset}.campaigns AS c ON p.campaign_id = c.campaign_id "
          "GROUP BY c.channel ORDER BY roas DESC"),
        q("Which clients get the best cost per conversion?",
          "SELECT cl.name, SUM(p.spend) / NULLIF(SUM(p.conversions), 0) AS cost_per_conversion "
          "FROM {dataset}.daily_performance AS p JOIN {dataset}.campaigns AS c ON p.campaign_id = c.campaign_id "
          "JOIN {dataset}.clients AS cl ON c.client_id = cl.client_id GROUP BY cl.name "
          "ORDER BY cost_per_conversion LIMIT 15"),
        q("How do click-through rates compare across channels?",
          "SELECT c.channel, SUM(p.clicks) / SUM(p.impressions) AS ctr FROM {dataset}.daily_performance AS p "
          "JOIN {dataset}.campaigns AS c ON p.campaign_id = c.campaign_id GROUP BY c.channel ORDER BY ctr DESC"),
        q("What is the weekly spend and revenue trend?",
          "SELECT DATE_TRUNC(day, WEEK) AS week, SUM(spend) AS spend, SUM(revenue) AS revenue "
          "FROM {dataset}.daily_performance GROUP BY week ORDER BY week"),
        q("Which campaigns are over-spending their budget?",
          "SELECT c.campaign_id, c.channel, c.budget, SUM(p.spend) AS spent FROM {dataset}.campaigns AS c "
          "JOIN {dataset}.daily_performance AS p ON p.campaign_id = c.campaign_id "
          "GROUP BY c.campaign_id, c.channel, c.budget HAVING SUM(p.spend) > c.budget ORDER BY spent DESC"),
    ],
    instructions="ROAS is revenue divided by spend. CTR is clicks divided by impressions. Cost per conversion is "
    "spend divided by conversions.",
    demo_outline=["ROAS by channel", "Client efficiency", "Creative CTR", "Weekly pacing", "Budget overruns"],
    sample_products=["Paid search management", "Social media campaigns", "Brand strategy"],
)

LEGAL = DomainTemplate(
    name="legal_services",
    title="Legal services / law firm",
    keywords={
        "law firm": 5, "attorney": 4, "attorneys": 4, "lawyer": 4, "legal": 2.5, "litigation": 4,
        "practice areas": 4, "consultation": 2, "counsel": 3, "estate planning": 4, "personal injury": 4,
        "family law": 4, "corporate law": 4, "case": 1, "billable": 3, "paralegal": 3,
    },
    entities=["client", "matter", "attorney", "time entry", "invoice"],
    design=SchemaDesign(
        tables=[
            table("attorneys", 40, "Lawyers and paralegals",
                  "attorney_id INT64 PK", "name STRING @name", "title STRING {partner|associate|paralegal}",
                  "hourly_rate NUMERIC [120,950]"),
            table("matters", 900, "Client matters (cases)",
                  "matter_id INT64 PK", "client_name STRING @company",
                  "practice_area STRING {litigation|corporate|family|estate_planning|personal_injury|real_estate}",
                  "opened_date DATE NN", "closed_date DATE", "status STRING {open|closed|on_hold}"),
            table("time_entries", 60000, "Recorded time",
                  "entry_id INT64 PK", "matter_id INT64 FK matters.matter_id",
                  "attorney_id INT64 FK attorneys.attorney_id", "work_date DATE NN", "hours FLOAT64 [0.1,10]",
                  "billable BOOL"),
            table("invoices", 5000, "Invoices sent to clients",
                  "invoice_id INT64 PK", "matter_id INT64 FK matters.matter_id", "issued_date DATE NN",
                  "amount NUMERIC [200,90000]", "paid_amount NUMERIC [0,90000]"),
        ]
    ),
    questions=[
        q("What is the billable utilization by attorney?",
          "SELECT a.name, a.title, SUM(IF(t.billable, t.hours, 0)) / SUM(t.hours) AS utilization, SUM(t.hours) AS hours "
          "FROM {dataset}.time_entries AS t JOIN {dataset}.attorneys AS a ON t.attorney_id = a.attorney_id "
          "GROUP BY a.name, a.title ORDER BY utilization DESC"),
        q("Which practice areas generate the most billed revenue?",
          "SELECT m.practice_area, SUM(i.amount) AS billed, SUM(i.paid_amount) AS collected FROM {dataset}.invoices AS i "
          "JOIN {dataset}.matters AS m ON i.matter_id = m.matter_id GROUP BY m.practice_area ORDER BY billed DESC"),
        q("What is our collection rate by month?",
          "SELECT DATE_TRUNC(issued_date, MONTH) AS month, SUM(paid_amount) / SUM(amount) AS collection_rate "
          "FROM {dataset}.invoices GROUP BY month ORDER BY month"),
        q("How long do matters stay open by practice area?",
          "SELECT practice_area, AVG(DATE_DIFF(closed_date, opened_date, DAY)) AS avg_days_open, COUNT(*) AS matters "
          "FROM {dataset}.matters WHERE closed_date IS NOT NULL GROUP BY practice_area ORDER BY avg_days_open DESC"),
        q("Which matters carry the most billable time value?",
          "SELECT t.matter_id, SUM(t.hours * a.hourly_rate) AS time_value FROM {dataset}.time_entries AS t "
          "JOIN {dataset}.attorneys AS a ON t.attorney_id = a.attorney_id WHERE t.billable "
          "GROUP BY t.matter_id ORDER BY time_value DESC LIMIT 20"),
    ],
    instructions="Utilization is billable hours divided by all recorded hours. Collection rate is paid_amount "
    "divided by invoiced amount. Time value is hours times the attorney's hourly rate.",
    demo_outline=["Attorney utilization", "Revenue by practice area", "Collections", "Matter cycle time",
                  "Work in progress"],
    sample_products=["Estate planning", "Commercial litigation", "Business formation"],
)

EDUCATION = DomainTemplate(
    name="education",
    title="Education / online learning",
    keywords={
        "courses": 4, "course": 2, "students": 4, "enroll": 4, "enrollment": 4, "curriculum": 4, "learning": 2,
        "instructors": 3, "certificate": 2.5, "tuition": 4, "classes": 2, "academy": 3, "lessons": 2.5,
        "school": 3, "graduates": 3, "bootcamp": 4, "semester": 4,
    },
    entities=["student", "course", "enrollment", "assignment submission", "instructor"],
    design=SchemaDesign(
        tables=[
            table("students", 5000, "Learners",
                  "student_id INT64 PK", "email STRING @email", "country STRING {US|IN|BR|GB|NG|DE}",
                  "signup_date DATE NN", "cohort STRING {spring|summer|fall|winter}"),
            table("courses", 60, "Course catalog",
                  "course_id INT64 PK", "title STRING @catch_phrase",
                  "subject STRING {data_science|web_development|design|business|languages}",
                  "price NUMERIC [0,1200]", "instructor STRING @name"),
            table("enrollments", 14000, "Student enrollments in courses",
                  "enrollment_id INT64 PK", "student_id INT64 FK students.student_id",
                  "course_id INT64 FK courses.course_id", "enrolled_date DATE NN",
                  "status STRING {active|completed|dropped}", "final_score FLOAT64 [0,100]"),
            table("submissions", 80000, "Assignment submissions",
                  "submission_id INT64 PK", "enrollment_id INT64 FK enrollments.enrollment_id",
                  "submitted_at TIMESTAMP NN", "score FLOAT64 [0,100]", "late BOOL"),
        ]
    ),
    questions=[
        q("What is the completion rate by subject?",
          "SELECT c.subject, COUNTIF(e.status = 'completed') / COUNT(*) AS completion_rate, COUNT(*) AS enrollments "
          "FROM {dataset}.enrollments AS e JOIN {dataset}.courses AS c ON e.course_id = c.course_id "
          "GROUP BY c.subject ORDER BY completion_rate DESC"),
        q("Which courses earn the most tuition revenue?",
          "SELECT c.title, c.subject, COUNT(*) AS enrollments, SUM(c.price) AS revenue FROM {dataset}.enrollments AS e "
          "JOIN {dataset}.courses AS c ON e.course_id = c.course_id GROUP BY c.title, c.subject "
          "ORDER BY revenue DESC LIMIT 10"),
        q("How many new enrollments do we get each month?",
          "SELECT DATE_TRUNC(enrolled_date, MONTH) AS month, COUNT(*) AS enrollments FROM {dataset}.enrollments "
          "GROUP BY month ORDER BY month"),
        q("Do late submissions score lower?",
          "SELECT late, AVG(score) AS avg_score, COUNT(*) AS submissions FROM {dataset}.submissions GROUP BY late"),
        q("Which countries have the highest dropout rates?",
          "SELECT s.country, COUNTIF(e.status = 'dropped') / COUNT(*) AS dropout_rate FROM {dataset}.enrollments AS e "
          "JOIN {dataset}.students AS s ON e.student_id = s.student_id GROUP BY s.country ORDER BY dropout_rate DESC"),
    ],
    instructions="Completion rate is completed enrollments divided by all enrollments. Revenue is the course price "
    "per enrollment. Scores range from 0 to 100.",
    demo_outline=["Completion by subject", "Top courses by revenue", "Enrollment growth",
                  "Late work and outcomes", "Dropout hot spots"],
    sample_products=["Data science bootcamp", "UX design certificate", "Business English"],
)

NONPROFIT = DomainTemplate(
    name="nonprofit",
    title="Nonprofit / charity",
    keywords={
        "nonprofit": 5, "non-profit": 5, "donate": 4, "donation": 4, "donors": 4, "charity": 4, "volunteer": 3,
        "volunteers": 3, "mission": 1.5, "501(c)(3)": 5, "fundraising": 4, "grant": 2, "community": 1,
        "impact": 1.5, "gala": 3, "tax-deductible": 4,
    },
    entities=["donor", "donation", "campaign", "program", "volunteer shift"],
    design=SchemaDesign(
        tables=[
            table("donors", 6000, "Individual and institutional donors",
                  "donor_id INT64 PK", "name STRING @name", "donor_type STRING {individual|foundation|corporate}",
                  "state STRING @state_abbr", "first_gift_date DATE"),
            table("campaigns", 40, "Fundraising campaigns",
                  "campaign_id INT64 PK", "name STRING @catch_phrase",
                  "channel STRING {email|event|mail|online|peer_to_peer}", "goal NUMERIC [5000,500000]",
                  "start_date DATE NN"),
            table("donations", 25000, "Gifts received",
                  "donation_id INT64 PK", "donor_id INT64 FK donors.donor_id",
                  "campaign_id INT64 FK campaigns.campaign_id", "donated_at DATE NN", "amount NUMERIC [5,25000]",
                  "recurring BOOL"),
            table("volunteer_shifts", 9000, "Volunteer hours",
                  "shift_id INT64 PK", "donor_id INT64 FK donors.donor_id",
                  "program STRING {food_bank|tutoring|shelter|cleanup}", "shift_date DATE NN", "hours FLOAT64 [1,8]"),
        ]
    ),
    questions=[
        q("How much has each campaign raised against its goal?",
          "SELECT c.name, c.goal, SUM(d.amount) AS raised, SUM(d.amount) / c.goal AS pct_of_goal "
          "FROM {dataset}.donations AS d JOIN {dataset}.campaigns AS c ON d.campaign_id = c.campaign_id "
          "GROUP BY c.name, c.goal ORDER BY pct_of_goal DESC"),
        q("What are monthly donations, one-time versus recurring?",
          "SELECT DATE_TRUNC(donated_at, MONTH) AS month, recurring, SUM(amount) AS total FROM {dataset}.donations "
          "GROUP BY month, recurring ORDER BY month"),
        q("Which donor types give the largest average gift?",
          "SELECT o.donor_type, AVG(d.amount) AS avg_gift, COUNT(DISTINCT o.donor_id) AS donors "
          "FROM {dataset}.donations AS d JOIN {dataset}.donors AS o ON d.donor_id = o.donor_id "
          "GROUP BY o.donor_type ORDER BY avg_gift DESC"),
        q("Which fundraising channels perform best?",
          "SELECT c.channel, SUM(d.amount) AS raised, COUNT(*) AS gifts FROM {dataset}.donations AS d "
          "JOIN {dataset}.campaigns AS c ON d.campaign_id = c.campaign_id GROUP BY c.channel ORDER BY raised DESC"),
        q("How many volunteer hours does each program receive?",
          "SELECT program, SUM(hours) AS hours, COUNT(DISTINCT donor_id) AS volunteers FROM {dataset}.volunteer_shifts "
          "GROUP BY program ORDER BY hours DESC"),
    ],
    instructions="Raised amounts sum donations.amount. Recurring gifts are monthly pledges. Volunteers are "
    "recorded in donors and linked through volunteer_shifts.",
    demo_outline=["Campaign progress", "Recurring giving", "Donor segments", "Channel effectiveness",
                  "Volunteer engagement"],
    sample_products=["Community food bank", "After-school tutoring", "Emergency shelter"],
)

TEMPLATES = [SAAS, MARKETING_AGENCY, LEGAL, EDUCATION, NONPROFIT]
