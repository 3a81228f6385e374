"""Templates: ecommerce, restaurant, automotive dealership, manufacturing, agriculture."""

from __future__ import annotations

from agents.schemas import GoldenQuery, SchemaDesign
from agents.templates.model import DomainTemplate, table


def q(question: str, sql: str, insight: str = "") -> GoldenQuery:
    return GoldenQuery(question=question, sql=sql, insight=insight)


ECOMMERCE = DomainTemplate(
    name="ecommerce",
    title="E-commerce / online retail",
    keywords={
        "shop": 2, "online store": 3, "add to cart": 4, "cart": 2, "checkout": 3, "free shipping": 4,
        "shipping": 1.5, "returns": 1.5, "new arrivals": 3, "collection": 1, "sale": 1, "order": 1,
        "apparel": 2, "discount": 1.5, "wishlist": 3, "in stock": 2,
    },
    entities=["customer", "product", "order", "order item", "category"],
    design=SchemaDesign(
        tables=[
            table("customers", 2000, "Registered shoppers",
                  "customer_id INT64 PK", "email STRING @email", "country STRING {US|CA|GB|DE|FR|AU}",
                  "signup_date DATE", "acquisition_channel STRING {organic|paid_search|social|email|referral}"),
            table("products", 300, "Catalog of sellable products",
                  "product_id INT64 PK", "name STRING @catch_phrase",
                  "category STRING {apparel|footwear|accessories|home|beauty}", "price NUMERIC [5,400]",
                  "cost NUMERIC [2,200]"),
            table("orders", 12000, "One row per checkout",
                  "order_id INT64 PK", "customer_id INT64 FK customers.customer_id", "order_date DATE NN",
                  "status STRING {placed|shipped|delivered|returned|cancelled}",
                  "channel STRING {web|mobile_app|marketplace}", "total_amount NUMERIC [10,900]"),
            table("order_items", 30000, "Products in each order",
                  "order_item_id INT64 PK", "order_id INT64 FK orders.order_id",
                  "product_id INT64 FK products.product_id", "quantity INT64 [1,5]", "unit_price NUMERIC [5,400]"),
        ]
    ),
    questions=[
        q("What is our monthly revenue and order count?",
          "SELECT DATE_TRUNC(order_date, MONTH) AS month, SUM(total_amount) AS revenue, COUNT(*) AS orders "
          "FROM {dataset}.orders WHERE status != 'cancelled' GROUP BY month ORDER BY month",
          "Seasonality and growth at a glance"),
        q("Which product categories bring the most revenue?",
          "SELECT p.category, SUM(oi.quantity * oi.unit_price) AS revenue FROM {dataset}.order_items AS oi "
          "JOIN {dataset}.products AS p ON oi.product_id = p.product_id GROUP BY p.category ORDER BY revenue DESC"),
        q("What is the return rate by sales channel?",
          "SELECT channel, COUNTIF(status = 'returned') / COUNT(*) AS return_rate, COUNT(*) AS orders "
          "FROM {dataset}.orders GROUP BY channel ORDER BY return_rate DESC"),
        q("Which acquisition channels bring the highest average order value?",
          "SELECT c.acquisition_channel, AVG(o.total_amount) AS avg_order_value, COUNT(DISTINCT c.customer_id) AS "
          "customers FROM {dataset}.orders AS o JOIN {dataset}.customers AS c ON o.customer_id = c.customer_id "
          "GROUP BY c.acquisition_channel ORDER BY avg_order_value DESC"),
        q("Who are our top 10 customers by lifetime value?",
          "SELECT c.customer_id, c.country, SUM(o.total_amount) AS lifetime_value, COUNT(*) AS orders "
          "FROM {dataset}.orders AS o JOIN {dataset}.customers AS c ON o.customer_id = c.customer_id "
          "GROUP BY c.customer_id, c.country ORDER BY lifetime_value DESC LIMIT 10"),
    ],
    instructions="Revenue excludes cancelled orders. A returned order counts as an order but not as retained revenue. "
    "Average order value is total_amount averaged per order.",
    demo_outline=["Revenue trend and seasonality", "Category mix", "Returns by channel",
                  "Marketing channel quality", "VIP customers"],
    sample_products=["Organic cotton tee", "Trail running shoes", "Leather tote bag"],
)

RESTAURANT = DomainTemplate(
    name="restaurant",
    title="Restaurant / food service",
    keywords={
        "menu": 3, "restaurant": 4, "reservation": 3, "reservations": 3, "dine-in": 4, "takeout": 3,
        "delivery": 1, "chef": 3, "brunch": 3, "dinner": 2, "lunch": 2, "cuisine": 3, "appetizers": 3,
        "dessert": 2, "wine list": 3, "happy hour": 3, "catering": 2, "table": 1,
    },
    entities=["location", "menu item", "order", "reservation", "guest"],
    design=SchemaDesign(
        tables=[
            table("locations", 6, "Restaurant locations",
                  "location_id INT64 PK", "city STRING @city", "seats INT64 [40,160]",
                  "opened_date DATE"),
            table("menu_items", 80, "Dishes and drinks",
                  "item_id INT64 PK", "name STRING @catch_phrase",
                  "course STRING {starter|main|dessert|drink|side}", "price NUMERIC [4,45]", "food_cost NUMERIC [1,15]"),
            table("tickets", 20000, "Guest checks (one per table visit or takeout order)",
                  "ticket_id INT64 PK", "location_id INT64 FK locations.location_id", "opened_at TIMESTAMP NN",
                  "service_type STRING {dine_in|takeout|delivery}", "party_size INT64 [1,8]", "total NUMERIC [8,400]",
                  "tip NUMERIC [0,80]"),
            table("ticket_items", 60000, "Items ordered on each ticket",
                  "ticket_item_id INT64 PK", "ticket_id INT64 FK tickets.ticket_id",
                  "item_id INT64 FK menu_items.item_id", "quantity INT64 [1,4]"),
            table("reservations", 8000, "Table reservations",
                  "reservation_id INT64 PK", "location_id INT64 FK locations.location_id",
                  "reserved_for TIMESTAMP", "party_size INT64 [1,10]",
                  "status STRING {seated|no_show|cancelled}"),
        ]
    ),
    questions=[
        q("What are sales by location and service type?",
          "SELECT l.city, t.service_type, SUM(t.total) AS sales, COUNT(*) AS tickets FROM {dataset}.tickets AS t "
          "JOIN {dataset}.locations AS l ON t.location_id = l.location_id GROUP BY l.city, t.service_type "
          "ORDER BY sales DESC"),
        q("Which menu items sell the most and at what margin?",
          "SELECT m.name, m.course, SUM(ti.quantity) AS units, SUM(ti.quantity * (m.price - m.food_cost)) AS "
          "gross_margin FROM {dataset}.ticket_items AS ti JOIN {dataset}.menu_items AS m ON ti.item_id = m.item_id "
          "GROUP BY m.name, m.course ORDER BY units DESC LIMIT 15"),
        q("What are our busiest hours of the day?",
          "SELECT EXTRACT(HOUR FROM opened_at) AS hour, COUNT(*) AS tickets, AVG(total) AS avg_check "
          "FROM {dataset}.tickets GROUP BY hour ORDER BY hour"),
        q("What is the reservation no-show rate per location?",
          "SELECT l.city, COUNTIF(r.status = 'no_show') / COUNT(*) AS no_show_rate FROM {dataset}.reservations AS r "
          "JOIN {dataset}.locations AS l ON r.location_id = l.location_id GROUP BY l.city ORDER BY no_show_rate DESC"),
        q("How does the average tip percentage vary by party size?",
          "SELECT party_size, AVG(SAFE_DIVIDE(tip, total)) AS avg_tip_pct, COUNT(*) AS tickets "
          "FROM {dataset}.tickets WHERE service_type = 'dine_in' GROUP BY party_size ORDER BY party_size"),
    ],
    instructions="A ticket is one guest check. Gross margin is price minus food cost per unit sold. "
    "No-show rate is no-show reservations divided by all reservations.",
    demo_outline=["Sales by location", "Menu engineering: stars and dogs", "Peak hours for staffing",
                  "Reservation no-shows", "Tipping patterns"],
    sample_products=["Wood-fired margherita", "Braised short rib", "Seasonal tasting menu"],
)

AUTOMOTIVE = DomainTemplate(
    name="automotive_dealership",
    title="Automotive dealership",
    keywords={
        "dealership": 5, "dealer": 3, "new vehicles": 4, "used cars": 4, "pre-owned": 4, "test drive": 4,
        "financing": 1.5, "trade-in": 4, "service center": 3, "oil change": 3, "inventory": 1, "suv": 2,
        "sedan": 2, "truck": 1.5, "lease": 2, "vehicle": 2, "certified": 1.5,
    },
    entities=["vehicle", "customer", "sale", "service appointment", "salesperson"],
    design=SchemaDesign(
        tables=[
            table("vehicles", 1500, "Vehicle inventory",
                  "vehicle_id INT64 PK", "make STRING {Toyota|Ford|Honda|Chevrolet|Hyundai|BMW}",
                  "body_style STRING {sedan|suv|truck|hatchback|coupe}", "model_year INT64 [2016,2025]",
                  "condition STRING {new|used|certified}", "list_price NUMERIC [12000,85000]", "arrived_date DATE"),
            table("customers", 3000, "Buyers and service customers",
                  "customer_id INT64 PK", "name STRING @name", "zip_code STRING @postcode",
                  "lead_source STRING {walk_in|website|referral|third_party_listing}"),
            table("sales", 1100, "Vehicle sales",
                  "sale_id INT64 PK", "vehicle_id INT64 FK vehicles.vehicle_id",
                  "customer_id INT64 FK customers.customer_id", "sale_date DATE NN", "sale_price NUMERIC [11000,82000]",
                  "financed BOOL", "salesperson STRING {Avery|Jordan|Riley|Morgan|Casey}"),
            table("service_orders", 9000, "Service department repair orders",
                  "service_order_id INT64 PK", "customer_id INT64 FK customers.customer_id", "service_date DATE NN",
                  "service_type STRING {oil_change|brakes|tires|diagnostics|warranty_repair}",
                  "labor_hours FLOAT64 [0.5,8]", "amount NUMERIC [40,2500]"),
        ]
    ),
    questions=[
        q("How many vehicles did we sell each month, new versus used?",
          "SELECT DATE_TRUNC(s.sale_date, MONTH) AS month, v.condition, COUNT(*) AS units, SUM(s.sale_price) AS revenue "
          "FROM {dataset}.sales AS s JOIN {dataset}.vehicles AS v ON s.vehicle_id = v.vehicle_id "
          "GROUP BY month, v.condition ORDER BY month"),
        q("Which salespeople close the most revenue?",
          "SELECT salesperson, COUNT(*) AS deals, SUM(sale_price) AS revenue, AVG(sale_price) AS avg_deal "
          "FROM {dataset}.sales GROUP BY salesperson ORDER BY revenue DESC"),
        q("How long do vehicles sit on the lot before they sell, by body style?",
          "SELECT v.body_style, AVG(DATE_DIFF(s.sale_date, v.arrived_date, DAY)) AS avg_days_on_lot "
          "FROM {dataset}.sales AS s JOIN {dataset}.vehicles AS v ON s.vehicle_id = v.vehicle_id "
          "GROUP BY v.body_style ORDER BY avg_days_on_lot DESC"),
        q("What does the service department earn by service type?",
          "SELECT service_type, COUNT(*) AS orders, SUM(amount) AS revenue, AVG(labor_hours) AS avg_labor_hours "
          "FROM {dataset}.service_orders GROUP BY service_type ORDER BY revenue DESC"),
        q("Which lead sources convert to the most sales?",
          "SELECT c.lead_source, COUNT(s.sale_id) AS sales, SUM(s.sale_price) AS revenue FROM {dataset}.customers AS c "
          "LEFT JOIN {dataset}.sales AS s ON s.customer_id = c.customer_id GROUP BY c.lead_source ORDER BY sales DESC"),
    ],
    instructions="Sales revenue uses sale_price, not list_price. Days on lot is sale_date minus arrived_date. "
    "Service revenue comes from service_orders.amount.",
    demo_outline=["Monthly units and revenue", "Sales team leaderboard", "Inventory aging",
                  "Service department profitability", "Lead source ROI"],
    sample_products=["Certified pre-owned SUVs", "New hybrid sedans", "Express oil change"],
)

MANUFACTURING = DomainTemplate(
    name="manufacturing",
    title="Manufacturing",
    keywords={
        "manufacturing": 5, "manufacturer": 4, "factory": 4, "production": 2, "precision": 2, "machining": 4,
        "cnc": 4, "oem": 3, "assembly": 2, "iso 9001": 4, "supply chain": 1.5, "fabrication": 4, "quality control": 3,
        "components": 2, "plant": 2, "industrial": 2.5, "tolerances": 4,
    },
    entities=["plant", "production line", "product", "work order", "quality inspection"],
    design=SchemaDesign(
        tables=[
            table("production_lines", 12, "Production lines across plants",
                  "line_id INT64 PK", "plant STRING {Dayton|Monterrey|Pilsen}",
                  "line_type STRING {cnc|assembly|stamping|injection_molding}", "capacity_per_hour INT64 [50,600]"),
            table("products", 150, "Manufactured parts",
                  "product_id INT64 PK", "sku STRING @bothify", "family STRING {brackets|housings|gears|fasteners|valves}",
                  "unit_cost NUMERIC [0.5,120]"),
            table("work_orders", 15000, "Production runs",
                  "work_order_id INT64 PK", "line_id INT64 FK production_lines.line_id",
                  "product_id INT64 FK products.product_id", "start_time TIMESTAMP NN", "planned_units INT64 [100,5000]",
                  "produced_units INT64 [80,5000]", "downtime_minutes INT64 [0,240]"),
            table("inspections", 40000, "Quality inspections of produced batches",
                  "inspection_id INT64 PK", "work_order_id INT64 FK work_orders.work_order_id",
                  "inspected_units INT64 [10,200]", "defective_units INT64 [0,12]",
                  "defect_type STRING {none|dimensional|surface|material|assembly}"),
        ]
    ),
    questions=[
        q("What is the output attainment (produced vs planned) by plant?",
          "SELECT l.plant, SUM(w.produced_units) / SUM(w.planned_units) AS attainment, SUM(w.produced_units) AS units "
          "FROM {dataset}.work_orders AS w JOIN {dataset}.production_lines AS l ON w.line_id = l.line_id "
          "GROUP BY l.plant ORDER BY attainment"),
        q("Which production lines lose the most time to downtime?",
          "SELECT l.line_id, l.plant, l.line_type, SUM(w.downtime_minutes) / 60 AS downtime_hours "
          "FROM {dataset}.work_orders AS w JOIN {dataset}.production_lines AS l ON w.line_id = l.line_id "
          "GROUP BY l.line_id, l.plant, l.line_type ORDER BY downtime_hours DESC LIMIT 10"),
        q("What is the defect rate by product family?",
          "SELECT p.family, SUM(i.defective_units) / SUM(i.inspected_units) AS defect_rate "
          "FROM {dataset}.inspections AS i JOIN {dataset}.work_orders AS w ON i.work_order_id = w.work_order_id "
          "JOIN {dataset}.products AS p ON w.product_id = p.product_id GROUP BY p.family ORDER BY defect_rate DESC"),
        q("Which defect types are most common?",
          "SELECT defect_type, SUM(defective_units) AS defects FROM {dataset}.inspections "
          "WHERE defect_type != 'none' GROUP BY defect_type ORDER BY defects DESC"),
        q("How has weekly production volume trended?",
          "SELECT DATE_TRUNC(DATE(start_time), WEEK) AS week, SUM(produced_units) AS units "
          "FROM {dataset}.work_orders GROUP BY week ORDER BY week"),
    ],
    instructions="Attainment is produced_units divided by planned_units. Defect rate is defective_units divided "
    "by inspected_units. Downtime is reported in minutes per work order.",
    demo_outline=["Plant output attainment", "Downtime hot spots", "Quality by product family",
                  "Defect Pareto", "Weekly volume trend"],
    sample_products=["CNC-machined aluminum housings", "Stamped steel brackets", "Hydraulic valves"],
)

AGRICULTURE = DomainTemplate(
    name="agriculture",
    title="Agriculture / farming",
    keywords={
        "farm": 4, "farming": 4, "harvest": 4, "crops": 4, "acres": 4, "organic produce": 4, "orchard": 4,
        "livestock": 4, "irrigation": 4, "soil": 3, "seeds": 2, "growers": 3, "agriculture": 5,
        "yield": 2, "greenhouse": 3, "tractor": 3, "cooperative": 1.5,
    },
    entities=["field", "crop", "planting", "harvest", "buyer"],
    design=SchemaDesign(
        tables=[
            table("fields", 60, "Farm fields",
                  "field_id INT64 PK", "farm STRING {North Ridge|Willow Creek|Sunset Flats}", "acres FLOAT64 [5,320]",
                  "soil_type STRING {loam|clay|sandy|silt}", "irrigated BOOL"),
            table("plantings", 600, "What was planted where, per season",
                  "planting_id INT64 PK", "field_id INT64 FK fields.field_id",
                  "crop STRING {corn|soybeans|wheat|tomatoes|apples|lettuce}", "season_year INT64 [2021,2025]",
                  "planted_date DATE", "seed_cost NUMERIC [500,40000]"),
            table("harvests", 2400, "Harvest loads",
                  "harvest_id INT64 PK", "planting_id INT64 FK plantings.planting_id", "harvest_date DATE NN",
                  "quantity_tons FLOAT64 [1,120]", "grade STRING {premium|standard|processing}"),
            table("sales", 3000, "Sales of harvested produce",
                  "sale_id INT64 PK", "harvest_id INT64 FK harvests.harvest_id",
                  "buyer STRING {grocery_chain|farmers_market|processor|export|cooperative}", "sale_date DATE",
                  "price_per_ton NUMERIC [80,2500]", "tons_sold FLOAT64 [1,120]"),
        ]
    ),
    questions=[
        q("What is the yield per acre by crop?",
          "SELECT p.crop, SUM(h.quantity_tons) / SUM(f.acres) AS tons_per_acre FROM {dataset}.harvests AS h "
          "JOIN {dataset}.plantings AS p ON h.planting_id = p.planting_id JOIN {dataset}.fields AS f "
          "ON p.field_id = f.field_id GROUP BY p.crop ORDER BY tons_per_acre DESC"),
        q("Does irrigation improve yields?",
          "SELECT f.irrigated, p.crop, SUM(h.quantity_tons) / SUM(f.acres) AS tons_per_acre FROM {dataset}.harvests AS h "
          "JOIN {dataset}.plantings AS p ON h.planting_id = p.planting_id JOIN {dataset}.fields AS f "
          "ON p.field_id = f.field_id GROUP BY f.irrigated, p.crop ORDER BY p.crop, f.irrigated"),
        q("Which buyers pay the best price per ton?",
          "SELECT buyer, AVG(price_per_ton) AS avg_price, SUM(tons_sold) AS tons FROM {dataset}.sales "
          "GROUP BY buyer ORDER BY avg_price DESC"),
        q("What is revenue by crop and season?",
          "SELECT p.season_year, p.crop, SUM(s.price_per_ton * s.tons_sold) AS revenue FROM {dataset}.sales AS s "
          "JOIN {dataset}.harvests AS h ON s.harvest_id = h.harvest_id JOIN {dataset}.plantings AS p "
          "ON h.planting_id = p.planting_id GROUP BY p.season_year, p.crop ORDER BY p.season_year, revenue DESC"),
        q("What share of the harvest reaches premium grade?",
          "SELECT grade, SUM(quantity_tons) AS tons, SUM(quantity_tons) / SUM(SUM(quantity_tons)) OVER () AS share "
          "FROM {dataset}.harvests GROUP BY grade ORDER BY tons DESC"),
    ],
    instructions="Yield is harvested tons divided by field acres. Revenue is price_per_ton times tons_sold. "
    "A planting is one crop in one field for one season.",
    demo_outline=["Yield per acre by crop", "Irrigation impact", "Buyer pricing",
                  "Revenue by season", "Quality grades"],
    sample_products=["Heirloom tomatoes", "Non-GMO soybeans", "Honeycrisp apples"],
)

TEMPLATES = [ECOMMERCE, RESTAURANT, AUTOMOTIVE, MANUFACTURING, AGRICULTURE]
